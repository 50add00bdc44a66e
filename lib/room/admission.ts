// Writer admission: which cores a room tracks, replicates, saves and passes on. A core is
// admitted on a proof that a member made it (signed with the room's admission key, which
// relay-link holders lack) and, for members, a device's claim inside it that ties the core to
// an identity; limits count per identity, so one member cannot crowd the others out.
import c from 'compact-encoding'
import b4a from 'b4a'
import {
  admissionSignable,
  memberTag,
  seal,
  sign,
  unseal,
  verify,
  writerClaimSignable,
  type KeyPair
} from '../crypto.js'
import { verifyCertificate, type DeviceCertificate } from '../identity/device.js'
import { decodeStrict, writerClaim, type WriterProof } from '../messages.js'

/** Writer cores one identity may have admitted in a room (it has one per device). */
export const MAX_CORES_PER_IDENTITY = 8
/** Writer cores one device may have admitted in a room (it writes one). */
export const MAX_CORES_PER_DEVICE = 2

/** How a core was admitted, and what it counts against. */
export interface Admission {
  /**
   * What per-identity limits count: the identity (hex) for a member, the proof's member tag
   * (hex) for a relay, which cannot see identities. Null when not known (restored entries).
   */
  owner: string | null
  /** The claiming device (hex), for members; null for relays. */
  device: string | null
  /** The proof as received, passed on verbatim; null when admitted on a verified block. */
  proof: WriterProof | null
}

/** Checks proofs: a member fully, a relay only the admission key's signature. */
export interface ProofChecker {
  check(coreKey: Buffer, proof: WriterProof): Admission | null
}

/** The keys a member makes and checks proofs with. */
export interface MemberAdmissionKeys {
  /** The room id: device claims and member tags are bound to it. */
  id: Buffer
  topic: Buffer
  memberKey: Buffer
  admission: KeyPair
}

/** This device's proof that it made `coreKey`, in the room of `keys`. */
export function makeProof(
  keys: MemberAdmissionKeys,
  coreKey: Buffer,
  device: { keyPair: KeyPair; certificate: DeviceCertificate }
): WriterProof {
  const claim = { certificate: device.certificate, signature: sign(writerClaimSignable(keys.id, coreKey), device.keyPair.secretKey) }
  const sealed = seal(c.encode(writerClaim, claim), keys.memberKey)
  const tag = memberTag(keys.id, device.certificate.identity)
  const signature = sign(admissionSignable(keys.topic, coreKey, tag, sealed), keys.admission.secretKey)
  return { tag, sealed, signature }
}

/** A member's check: the admission signature, then the device's claim and its certificate. */
export class MemberProofs implements ProofChecker {
  private readonly keys: MemberAdmissionKeys

  constructor(keys: MemberAdmissionKeys) {
    this.keys = keys
  }

  check(coreKey: Buffer, proof: WriterProof): Admission | null {
    const { keys } = this
    if (!verify(proof.signature, admissionSignable(keys.topic, coreKey, proof.tag, proof.sealed), keys.admission.publicKey)) return null
    const plain = unseal(proof.sealed, keys.memberKey)
    if (plain === null) return null
    let claim
    try {
      claim = decodeStrict(writerClaim, plain, 'writer claim')
    } catch {
      return null
    }
    const cert = claim.certificate
    if (!verifyCertificate(cert)) return null
    if (!verify(claim.signature, writerClaimSignable(keys.id, coreKey), cert.device)) return null
    // The tag relays count by must be this identity's, or a member could spread its cores
    // over made-up tags at relays while members count them right.
    if (!b4a.equals(proof.tag, memberTag(keys.id, cert.identity))) return null
    return { owner: cert.identity.toString('hex'), device: cert.device.toString('hex'), proof }
  }
}

/** A relay's check: only the admission key's signature, which it can verify without reading. */
export class RelayProofs implements ProofChecker {
  private readonly topic: Buffer
  private readonly admissionKey: Buffer

  constructor(topic: Buffer, admissionKey: Buffer) {
    this.topic = topic
    this.admissionKey = admissionKey
  }

  check(coreKey: Buffer, proof: WriterProof): Admission | null {
    if (!verify(proof.signature, admissionSignable(this.topic, coreKey, proof.tag, proof.sealed), this.admissionKey)) return null
    return { owner: proof.tag.toString('hex'), device: null, proof }
  }
}
