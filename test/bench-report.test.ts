// The bench's memory target (bench/report.ts): a slope of RSS over the room's size is called a
// pass or a miss only when the runs can tell, never from noise. No bench runs here.
import test from 'brittle'
import type { FanoutResult } from '../bench/mesh.js'
import { headline, memoryPerMember, slope, slopeError } from '../bench/report.js'

const MiB = 2 ** 20

// A fan-out room of `members` whose receivers' RSS is `base` plus `perMember` each, known to
// within `error` (the standard error over its processes), all in MiB.
function room(members: number, perMember: number, error: number | null, nodesPerProcess = 1): FanoutResult {
  return {
    members,
    nodesPerProcess,
    rssPerMember: (90 + perMember * members) * MiB,
    rssPerMemberError: error === null ? null : error * MiB,
    liveHeapPerMember: (14 + 0.04 * members) * MiB,
    rssAfterGcPerMember: (88 + perMember * members) * MiB
  } as unknown as FanoutResult
}

test('slope and its standard error', (t) => {
  t.ok(Math.abs(slope([[10, 1], [25, 2.5], [50, 5]]) - 0.1) < 1e-12, 'a straight line')
  t.ok(Number.isNaN(slope([[10, 1]])), 'one point has no slope')
  t.ok(Number.isNaN(slope([[10, 1], [10, 2]])), 'nor two at the same size')
  // Two points 40 apart, each ±0.4: the slope is ±√(0.4² + 0.4²) / 40.
  t.ok(Math.abs(slopeError([[10, 0.4], [50, 0.4]]) - Math.sqrt(0.32) / 40) < 1e-12)
})

test('memory per member: a pass or a miss only when twice the error is on one side', (t) => {
  const cheap = memoryPerMember([room(10, 0.05, 0.2), room(25, 0.05, 0.2), room(50, 0.05, 0.2)])
  t.is(cheap.target?.pass, true, cheap.target?.measured)
  t.ok(cheap.target?.name.includes('10 → 25 → 50'))

  const dear = memoryPerMember([room(10, 0.4, 0.2), room(50, 0.4, 0.2)])
  t.is(dear.target?.pass, false, dear.target?.measured)

  const unclear = memoryPerMember([room(10, 0.08, 2), room(50, 0.08, 2)])
  t.is(unclear.target?.pass, null, 'a wide spread is not a pass')
  t.ok(unclear.target?.measured.includes('too wide to tell'))
})

test('memory per member: small rooms and shared processes are left out of the slope', (t) => {
  // The 2-member room's one process says little; 10 → 50 is read instead.
  const r = memoryPerMember([room(2, 3, null), room(10, 0.05, 0.2), room(50, 0.05, 0.2)])
  t.ok(r.target?.name.includes('10 → 50'), r.target?.name)
  t.is(r.target?.pass, true)
  // An 80-member room of two nodes a process halves each process's baseline per member.
  const shared = memoryPerMember([room(10, 0.05, 0.2), room(50, 0.05, 0.2), { ...room(80, 0.05, 0.2, 2), rssPerMember: 45 * MiB }])
  t.ok(shared.target?.name.endsWith('10 → 50 members)'), shared.target?.name)
  // Results written before the error was recorded: too few members apart to tell.
  const old = memoryPerMember([room(2, 1, null), room(10, 1, null)])
  t.is(old.target?.pass, null)
  t.ok(old.target?.measured.includes('too few members apart'))
  t.ok(memoryPerMember([room(10, 1, null)]).target === null, 'one room: no slope at all')
})

test("the receiver's CPU target is shown beside a raw socket's reader, and judged on its own figure", (t) => {
  const fanout = { receiverCpuPerMsgMs: 2.4, receiverNetCpuPerMsgMs: 2.0, senderCpuPerMsgMs: 5 }
  const results = (floor: number | undefined) =>
    ({
      latency: { backToBack: {}, paced: {} },
      throughput: {},
      join: {},
      writers: {},
      liveFloor: { cryptoUs: {}, pacedP50: 0.7, pacedP99: 2.3, backToBackP50: 2, receiverCpuPerMsgMs: floor },
      mesh: { fanout: { 10: fanout } }
    }) as unknown as Parameters<typeof headline>[0]
  const row = (floor: number | undefined) => headline(results(floor)).targets.find((x) => x.name.includes('receiver CPU/msg ≤ 1 ms'))!
  const withFloor = row(0.53)
  t.ok(withFloor.measured.includes("a raw socket's reader, net, with unseal and verify: 0.53"), withFloor.measured)
  t.is(withFloor.pass, false, 'the floor is context, not an excuse')
  t.absent(row(undefined).measured.includes('raw socket'), 'older results: no floor')
})
