// Writer admission: which cores a room tracks, replicates, saves and passes on. A core is
// admitted on a proof that a member made it (signed with the room's admission key, which
// relay-link holders lack) and, for members, a device's claim inside it that ties the core to
// an identity; limits count per identity, so one member cannot crowd the others out.
import c from 'compact-encoding'
import b4a from 'b4a'
import Hypercore from 'hypercore'
import {
  admissionSignable,
  coreClaimSignable,
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
  /**
   * The core's own key pair named `device` too (a version 2 claim): the device's blocks are
   * the core's, so they may be shown before Hypercore delivered one (LivePath.receive). A
   * device's claim alone binds nothing: any member device can claim any core.
   */
  bound?: boolean
  /** The proof as received, passed on verbatim; null when admitted on a verified block. */
  proof: WriterProof | null
}

/** Checks proofs: a member fully, a relay only the admission key's signature. */
export interface ProofChecker {
  /**
   * The admission a proof gives `coreKey`, or null. `saved`: a proof this node stored itself,
   * which builds before version 2 claims stored without the core's side (see `Admission.bound`).
   */
  check(coreKey: Buffer, proof: WriterProof, saved?: boolean): Admission | null
}

/** The keys a member makes and checks proofs with. */
export interface MemberAdmissionKeys {
  /** The room id: device claims and member tags are bound to it. */
  id: Buffer
  topic: Buffer
  memberKey: Buffer
  admission: KeyPair
}

/**
 * This device's proof that it made `coreKey`, in the room of `keys`; with the key pair that
 * signs the core (`writer`), the core names the device too (see `Admission.bound`).
 */
export function makeProof(
  keys: MemberAdmissionKeys,
  coreKey: Buffer,
  device: { keyPair: KeyPair; certificate: DeviceCertificate },
  writer: KeyPair | null = null
): WriterProof {
  const core = writer ? { signer: writer.publicKey, signature: sign(coreClaimSignable(keys.id, coreKey, device.certificate.device), writer.secretKey) } : null
  const claim = { certificate: device.certificate, signature: sign(writerClaimSignable(keys.id, coreKey), device.keyPair.secretKey), core }
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

  check(coreKey: Buffer, proof: WriterProof, saved = false): Admission | null {
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
    // The core's side: the core key is its signer's manifest hash (as Hypercore makes it for a
    // core opened with that key pair), and the signer names this device. Required of proofs
    // from the network, so no member claims another's core; one saved before claims carried it
    // admits the core as then, and its owner is learnt from its first verified block.
    const core = claim.core
    if (core === null) return saved ? { owner: cert.identity.toString('hex'), device: cert.device.toString('hex'), proof, bound: false } : null
    if (!b4a.equals(Hypercore.key(core.signer), coreKey)) return null
    if (!verify(core.signature, coreClaimSignable(keys.id, coreKey, cert.device), core.signer)) return null
    return { owner: cert.identity.toString('hex'), device: cert.device.toString('hex'), proof, bound: true }
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
