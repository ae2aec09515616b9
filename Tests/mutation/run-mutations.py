#!/usr/bin/env python3
"""Mutation check: the tests that name a rule of the decide stage must notice when that rule is
broken. Each mutant below breaks one rule of the shipping core (Sources/FairshareCore) by an
exact-text replacement in a copy of the working tree, and names its killers: the test suites or
tests that state that rule (`killers`, e.g. "ControllerTests" or "ScenarioTests/shareAccuracy()").

What counts as a kill (and nothing else does):
  * at least one of the mutant's own killers fails (or traps) under the mutant; or
  * its killers all pass, but another test of the check's selection fails under the mutant and
    then PASSES when rerun on the unmutated copy: the failure is the mutant's, so it is
    attributed to it, and the report says so (add that test to the mutant's killers).
A mutant whose only failures can not be attributed is NOT killed, and the check fails, with the
reason: a run that timed out, a crash no test can be named for, or failing tests outside its
list that fail on the unmutated copy too (flaky or broken tests, not the mutant). A mutant
that builds and fails nothing SURVIVED (a gap in the tests); one that does not build is no kill.

The check's selection (SELECTION) is a list of anchored suite names, turned into one
`swift test --filter` regex (`^Module\\.Suite(/|$)`): the pure and fake-kernel suites that
state the rules. Suites that fork real processes or use the kernel's netlink
(NetlinkProcessEventsLiveTests, ProcessEventsAccessTests) are left out: they test the Linux
adapters, which no mutant touches, and cost thousands of forks per run.

One check, in one process: sync the copy, build its test bundle, list its tests (`swift test
list`), run the selection once unmutated (it must pass, and run exactly the tests the list
selects), then per mutant: build, run its killers (`--filter`); only if they all pass, run the
rest of the selection (`--skip` the killers) and rerun what failed there on the unmutated copy.
Failing tests are read from `--xunit-output` (Swift Testing's file names each test fully:
Module.Suite/test()) and from the console (XCTest's "Test Case 'Suite.test' failed", Swift
Testing's "✘ Test name() failed" and "recorded an issue", which name no suite and are matched
against the list); a crash's test from the crashed thread of the runtime's backtrace (the test
binary's buffered output is lost when it traps, and so is the xUnit file).

The check fails when the unmutated copy fails, when a mutation no longer applies (its text is
not found exactly once: a refactor moved it, so update the table), when a killer names no test
of the selection (renamed: update the list), when a mutant does not build, survives, or is not
killed as above.

The copy lives at a fixed path (MUTATION_DIR, default <repo>/.build-mutation/src) with its own
.build, so later runs rebuild incrementally: SwiftPM's module cache records absolute paths, so a
.build copied to a new temporary directory each run would rebuild from scratch. Files are synced
by content: only the ones that differ are rewritten (with a fresh mtime).

--selftest runs mutants made to trip each failure mode (a text that is gone, one that does not
compile, a changed comment, a hang in a listed test, a failure only an unlisted test sees, an
unlisted test broken without the mutant) and requires that each is reported as it should be and
fails the check (all but the unlisted kill, which must be reported as attributed and pass).
First it reads recorded `swift test` output (XCTest's and Swift Testing's failures, a crash with
its backtrace) and requires the right tests named. Without --only, the check runs the self-test's mutants too, against the same unmutated run.

Usage: run-mutations.py [--only NAME ...] [--list] [--selftest]
Environment: SWIFT (default swift), MUTATION_DIR, MUTATION_TIMEOUT (seconds per build and per
test run, 1200).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

CORE = "Sources/FairshareCore"
TEST_PRODUCT = "fairsharePackageTests"  # SwiftPM's name for the package's test bundle

# The suites the check runs, anchored: "Module" (all of it), "Module.Suite" or
# "Module.Suite/test()". Every mutant's killers must lie inside.
SELECTION = [
    "FairshareSimulationTests",  # the fluid simulator through the shipping decide stage
    "FairshareCoreTests.AllocatorTests",
    "FairshareCoreTests.ControllerTests",
    "FairshareCoreTests.ReconcilerTests",
    "FairshareCoreTests.FairnessRuleTests",
    "FairshareCoreTests.FairnessStatusTests",
    "FairshareCoreTests.ProcessEventBookTests",
    "FairshareCoreTests.BFQWeightMappingTests",
    "FairshareCoreTests.BFQWeightReconcilerTests",
    "FairshareCoreTests.WeightMappingTests",
    "FairshareCoreTests.IODevicesTests",
    "FairshareAgentTests.RedistributionTests",  # the agent on the fake kernel
    "FairshareAgentTests.ProcessEventTests",
    "FairshareAgentTests.IdleGroupAgentTests",
    "FairshareAgentTests.IOSharesAgentTests",
    "FairshareCoreTests.CPUMaxBurstTests",
    "FairshareCoreTests.KernelResetTests",
    "FairshareAgentTests.UnreadableProcTests",
    "FairshareAgentTests.GroupFileTableAgentTests",
    "FairshareAgentTests.GroupTreeAgentTests",  # issue 20: users' subgroups, nested groups
    "FairshareCoreTests.GroupTreeControllerTests",
    "FairshareCoreTests.UserReadScheduleTests",  # issue 20: quiet users read rarely, wakers at once
    "FairshareAgentTests.QuietUserReadTests",
    "FairshareAgentTests.HeldBackUserTests",  # a user held back under its group's cap: its waiting
    "FairshareAgentTests.ObserveModeTests",  # issue 21: observing changes nothing
    "FairshareAgentTests.UserSocketTests/theCallerSeesTheirOwnShareAndNothingOfAnyoneElse()",  # the user socket forks only in its flood test
]


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    breaks: str
    killers: tuple[str, ...] = ()  # suites or tests that state the rule: "Suite", "Suite/test()"


SCENARIO = "FairshareSimulationTests.ScenarioTests"
UNREADABLE = "FairshareAgentTests.UnreadableProcTests"
REDISTRIBUTION = "FairshareAgentTests.RedistributionTests"

MUTANTS = [
    Mutant("floor-weight-not-raised", f"{CORE}/Decide/Controller.swift",
           "w = share.allocation / result.level * gain",
           "_ = gain",
           "a floor-held group keeps its shares' weight (floors ignored by the weights)",
           killers=(f"{SCENARIO}/floorHoldsAgainstHeavierGroups()", "FloorRegressionTests",
                    "ControllerTests/aFloorTheKernelUnderDeliversIsCorrectedWithinBounds()",
                    "ControllerTests/aSatisfiedGroupBelowItsFloorKeepsItsRaisedWeight()",
                    f"{REDISTRIBUTION}/floorRaisesTheWeightAndIsJournaled()")),
    Mutant("floor-not-claimed", f"{CORE}/Decide/Controller.swift",
           "weight: Double(g.shares.value) * factor, floor: d.floor,",
           "weight: Double(g.shares.value) * factor, floor: 0,",
           "the allocator is never told a group's floor",
           killers=(f"{SCENARIO}/floorHoldsAgainstHeavierGroups()", "FloorRegressionTests",
                    "ControllerTests/aFloorTheKernelUnderDeliversIsCorrectedWithinBounds()",
                    "ControllerTests/aSatisfiedGroupBelowItsFloorKeepsItsRaisedWeight()",
                    f"{REDISTRIBUTION}/floorRaisesTheWeightAndIsJournaled()")),
    Mutant("ceiling-not-claimed", f"{CORE}/Decide/Controller.swift",
           "let ceiling = g.ceiling?.cpus(capacity: capacity) ?? .infinity",
           "let ceiling: Double = .infinity",
           "the controller ignores max (ceilings)",
           killers=(f"{REDISTRIBUTION}/ceilingIsWrittenToCPUMax()",
                    f"{SCENARIO}/borrowerTakesIdleCapacityAndGivesItBack()",
                    f"{REDISTRIBUTION}/borrowerTakesIdleCapacityAndGivesItBack()",
                    "FairnessRuleTests/anIdleGroupsMaxBoundsItsLeftover()")),
    Mutant("cpu-max-never-written", f"{CORE}/Decide/GroupFiles.swift",
           "rule: { c in Setting(c.decision?.cpuMaxValue ?? CPUMax(cpus: c.group.ceiling?.cpus(capacity: c.capacity))) })",
           "rule: { _ in nil })",
           "the reconciler's plan never sets cpu.max",
           killers=(f"{REDISTRIBUTION}/ceilingIsWrittenToCPUMax()",
                    "ReconcilerTests/aHugeMaxIsPlannedAsTheLargestQuota()",
                    "ReconcilerTests/firstPassWritesEveryValueOnceAndThenNothing()",
                    f"{SCENARIO}/borrowerTakesIdleCapacityAndGivesItBack()")),
    Mutant("borrowing-ignored", f"{CORE}/Decide/Controller.swift",
           "let burst = g.borrow ? (g.burst?.cpus(capacity: capacity) ?? capacity) : ceiling",
           "let burst = ceiling",
           "borrow = true is treated as false",
           killers=(f"{SCENARIO}/borrowerTakesIdleCapacityAndGivesItBack()",
                    f"{REDISTRIBUTION}/borrowerTakesIdleCapacityAndGivesItBack()")),
    Mutant("cpu-max-not-raised-while-borrowing", f"{CORE}/Decide/Controller.swift",
           "quota = max(claims[i].ceiling, share.borrowed > 0 ? share.allocation : 0)",
           "quota = claims[i].ceiling",
           "a borrower's cpu.max stays at its ceiling",
           killers=(f"{SCENARIO}/borrowerTakesIdleCapacityAndGivesItBack()",
                    f"{REDISTRIBUTION}/borrowerTakesIdleCapacityAndGivesItBack()")),
    Mutant("max-boost-clamp-removed", f"{CORE}/Decide/Controller.swift",
           "return min(max(e / u, 1 / bound), bound)",
           "return e / u",
           "the fairness factor is not clamped by max_boost: credit is unbounded",
           killers=("ControllerTests/fairnessBoundHoldsHoweverLongTheIdleStretch()",
                    f"{SCENARIO}/decayedFairnessCorrectsWithoutStarving()",
                    f"{SCENARIO}/starvationBoundForOtherSettings(maxBoost:idleHalfLives:)",
                    "FairnessRuleTests/aLongAbsenceIsBoundedByMaxBoost(_:_:)",
                    "ReturnAfterAbsenceTests/aReturningGroupIsFavouredAndBounded(sleeping:)",
                    f"{REDISTRIBUTION}/decayedFairnessFavoursTheGroupThatWasIdleWithinTheBound()")),
    Mutant("fairness-factor-ignored", f"{CORE}/Decide/Controller.swift",
           "weight: Double(g.shares.value) * factor,",
           "weight: Double(g.shares.value),",
           "fairness = decayed has no effect on cpu.weight",
           killers=(f"{SCENARIO}/decayedFairnessCorrectsWithoutStarving()",
                    "ReturnAfterAbsenceTests",
                    f"{REDISTRIBUTION}/decayedFairnessFavoursTheGroupThatWasIdleWithinTheBound()")),
    Mutant("io-weight-ignores-fairness", f"{CORE}/Decide/Controller.swift",
           "Double(ioBase[g.name]?.value ?? g.ioShares.value) * factor",
           "Double(ioBase[g.name]?.value ?? g.ioShares.value)",
           "io.weight does not follow the fairness factor",
           # (BFQWeightReconcilerTests/theFairnessFactor...() hands the reconciler a made decision:
           # it states the BFQ rule, not this one, and passes under this mutant.)
           killers=(f"{SCENARIO}/decayedFairnessCorrectsWithoutStarving()",)),
    Mutant("controller-decision-unused", f"{CORE}/Decide/Reconciler.swift",
           "isInterior: treeLayout.interior.contains(g.name), decision: decision,",
           "isInterior: treeLayout.interior.contains(g.name), decision: nil,",
           "the reconciler writes the shares' weights and max, never the controller's decision",
           killers=(REDISTRIBUTION, SCENARIO)),
    Mutant("entitlement-only-with-members", f"{CORE}/Decide/Controller.swift",
           "let entitled = groups.filter { !$0.idle }",
           "let entitled = zip(groups, observed).filter { !$0.0.idle && $0.1?.hasMembers == true }.map(\\.0)",
           "decayed fairness: a group without processes earns no entitlement (issue 11's old rule)",
           killers=("FairnessRuleTests/aGroupWithoutProcessesEarnsLikeOneWhoseProcessesSlept()",
                    "ReturnAfterAbsenceTests",
                    "FairnessStatusTests/decayedShowsUsageAndEntitlementEvenForAGroupWithoutProcesses()")),
    Mutant("idle-groups-not-last", f"{CORE}/Decide/Controller.swift",
           "let result = Self.allocate(claims, idle: groups.map(\\.idle), capacity: available)",
           "let result = Allocator.allocate(claims, capacity: available)",
           "idle groups compete for the capacity like ordinary groups",
           killers=("FairnessRuleTests/idleGroupsShareOnlyTheLeftover(_:_:_:)",
                    "FairnessRuleTests/anIdleGroupsMaxBoundsItsLeftover()",
                    "IdleGroupAgentTests/anIdleGroupGetsCPUIdleAndNoWeightAndOnlyWhatTheOthersLeave()")),
    Mutant("cpu-idle-never-written", f"{CORE}/Decide/GroupFiles.swift",
           "rule: { c in Setting(CPUIdle(c.group.idle)) })",
           "rule: { _ in nil })",
           "idle = true never reaches cpu.idle",
           killers=("IdleGroupAgentTests",)),
    Mutant("cpu-weight-written-while-idle", f"{CORE}/Decide/GroupFiles.swift",
           "if g.idle && !c.kernelLacks.contains(.cpuIdle) { return nil }",
           "_ = g.idle",
           "cpu.weight is written on an idle group (the kernel refuses it: EINVAL)",
           killers=("IdleGroupAgentTests",)),
    Mutant("pressure-not-hunger", f"{CORE}/Decide/Controller.swift",
           "if let p = o.pressure, p > Self.pressureThreshold",
           "if let p = o.pressure, p > 1",
           "waiting for CPU (cpu.pressure) no longer makes a group hungry",
           killers=("ControllerTests/demand(usage:throttled:pressure:allowance:members:hungry:demand:)",)),
    Mutant("member-fork-not-followed", f"{CORE}/Observe/ProcessEventBook.swift",
           "guard child == childTGID, isMember(parent) || reread[parent] != nil else { return }",
           "guard child == childTGID, reread[parent] != nil else { return }",
           "a member's child born after the scan is never recorded (events path)",
           killers=("ProcessEventTests/aMembersChildIsAdoptedOnForkAndForgottenOnExit()",
                    "ProcessEventBookTests/theDigestNamesWhatMustBeRead(_:)")),
    Mutant("no-periodic-rescan", f"{CORE}/Observe/ProcessEventBook.swift",
           "return now &- last >= period ? (true, .periodic) : (false, nil)",
           "return (false, nil)",
           "the rescan safety net never runs: what events missed stays missed",
           killers=("ProcessEventBookTests/whenAPassRescans()",
                    "ProcessEventTests/passesBetweenRescansDoNotWalkProcAndTheSafetyNetCountsWhatEventsMissed()")),
    Mutant("event-move-without-ledger", f"{CORE}/Decide/Reconciler.swift",
           "if steps.contains(where: \\.isMove) {",
           "if false {",
           "an event pass moves processes before their origin is on disk",
           killers=("ProcessEventTests/theOriginLedgerIsWrittenBeforeAnEventMove()",
                    "ProcessEventBookTests/anEventPlanMovesWithTheLedgerAheadAndOnlyTheNamedProcesses()")),
    Mutant("bfq-weight-without-bfq", f"{CORE}/Decide/GroupFiles.swift",
           "guard c.bfqActive else { return nil }",
           "_ = c.bfqActive",
           "io.bfq.weight is written on a machine where no disk uses BFQ",
           killers=("IOSharesAgentTests/noBFQWeightIsWrittenWhereNoDiskUsesBFQEvenWithTheModuleLoaded()",
                    "BFQWeightReconcilerTests/writtenWhileBFQIsActiveOnlyAndAgainWhenItReturns()")),
    Mutant("bfq-weights-kept-after-bfq-left", f"{CORE}/Decide/Reconciler.swift",
           "if !reading.bfqActive { applied.forget(.ioBFQWeight) }",
           "_ = reading.bfqActive",
           "a disk switched back to BFQ keeps BFQ's default weights (nothing written again)",
           killers=("BFQWeightReconcilerTests/writtenWhileBFQIsActiveOnlyAndAgainWhenItReturns()",
                    "IOSharesAgentTests/aDiskSwitchedToBFQAndAwayIsFollowedAndToldOnceEachWay()")),
    Mutant("bfq-ratio-not-kept", f"{CORE}/Decide/WeightMapping.swift",
           "? Double(max(1, min((BFQWeight.kernelDefault.value + smallest - 1) / smallest, top / largest)))",
           "? Double(max(1, (BFQWeight.kernelDefault.value + smallest - 1) / smallest))",
           "io shares whose scaled weights exceed 1000 are pinned there, ratios lost",
           killers=("BFQWeightMappingTests",)),
    Mutant("io-cost-not-seen", f"{CORE}/Kernel/IODevices.swift",
           "settings[device, default: IOCostSetting(enabled: false)].enabled = fields[\"enable\"] == \"1\"",
           "settings[device, default: IOCostSetting(enabled: false)].enabled = false",
           "status says io shares are not in force on a disk where io.cost is enabled",
           killers=("IODevicesTests",)),
    # Issue 19: a /proc that can not be read is an error, never "no processes".
    Mutant("unlistable-proc-reads-as-empty", f"{CORE}/Decide/Reconciler.swift",
           "if let scan = o.processScan?.value {",
           "if let scan = o.processScan.map({ $0.value ?? ProcessScan([]) }) {",
           "an unlistable /proc reads as no processes: every member forgotten, an empty ledger written",
           killers=(f"{UNREADABLE}/anUnlistableProcKeepsEveryMemberTheLedgerAndTheGroupsThenRecovers()",)),
    Mutant("release-without-proc-forgets-origins", f"{CORE}/Decide/Reconciler.swift",
           "guard let scan = o.processScan?.value else {",
           "guard let scan = Optional(o.processScan?.value ?? ProcessScan([])) else {",
           "a stop without /proc forgets every member: the ledger is wiped and recover has nothing to restore",
           killers=(f"{UNREADABLE}/stoppedWithoutProcThenRecoverGivesEveryProcessBackToItsOrigin()",
                    f"{UNREADABLE}/recoverWithoutProcSaysSoAndKeepsTheLedger()")),
    Mutant("unreadable-process-forgotten", f"{CORE}/Decide/Reconciler.swift",
           "enforcer.forget(allBut: Set(processes.map(\\.identity)), keepingPIDs: scan.unreadable)",
           "enforcer.forget(allBut: Set(processes.map(\\.identity)))",
           "a process whose files could not be read is forgotten as if it had exited",
           killers=(f"{UNREADABLE}/anUnreadableProcessKeepsItsMembershipAndIsNotMovedUntilItReads()",)),
    # Issue 19: the table of group files (GroupFiles) and the generic planner.
    Mutant("bounded-file-order-ignored", f"{CORE}/Decide/Reconciler.swift",
           "let inForce = applied.value(bound.file, of: group), bound.fits(s.value, inForce),",
           "let inForce = applied.value(bound.file, of: group), false,",
           "cpu.max.burst is always written after cpu.max: lowering both is refused by the kernel",
           killers=("CPUMaxBurstTests",)),
    Mutant("kernel-resets-not-followed", f"{CORE}/Decide/Reconciler.swift",
           "for file in s.row.resets { applied.set(file, of: s.group, to: nil) }",
           "_ = s.row.resets",
           "leaving idle, the kernel's reset of cpu.weight to 100 is not seen: the group's weight is not written again",
           killers=("KernelResetTests",)),
    Mutant("leftover-group-keeps-its-cap", f"{CORE}/Decide/Reconciler.swift",
           "steps.append(.set(GroupSetting(g, row.file, row.kernelDefault)))",
           "_ = row",
           "a group left at stop keeps the cap (and weight) the agent gave it",
           killers=("GroupFileTableAgentTests/aGroupLeftBehindAtStopGetsTheKernelsDefaultsBack()",)),
    # Issue 20: fair between people.
    Mutant("per-user-ignores-the-uid", f"{CORE}/Decide/GroupTree.swift",
           "if have.contains(.user(uid)) { return group.user(.user(uid)) }",
           "if let any = have.first, any != .overflow { return group.user(any) }",
           "every user of a per_user group lands in the first user's subgroup: fair between processes again",
           killers=("GroupTreeAgentTests",)),
    Mutant("level-divides-the-machine", f"{CORE}/Decide/Controller.swift",
           "for (k, d) in result.decisions.enumerated() where !childrenOf[siblings[k]].isEmpty { levels.append((siblings[k], d.share.allocation)) }",
           "for (k, _) in result.decisions.enumerated() where !childrenOf[siblings[k]].isEmpty { levels.append((siblings[k], capacity)) }",
           "a nested level divides the whole machine instead of what its parent was allocated",
           killers=("GroupTreeControllerTests",)),
    Mutant("parent-ignores-children-caps", f"{CORE}/Decide/Controller.swift",
           "total += min(ownHunger != nil ? .infinity : d.cpus, cap)",
           "total += ownHunger != nil ? .infinity : d.cpus",
           "a parent wants what its children want beyond their caps: capacity is held for users who can not use it",
           killers=("GroupTreeControllerTests/withoutBorrowingAUserAloneIsHeldToUserMax()",)),
    Mutant("idle-never-lent-below-the-top", f"{CORE}/Decide/Controller.swift",
           "guard idle > Allocator.epsilon else { return decisions }",
           "return decisions",
           "user_borrow and a nested borrow never take what the machine leaves unused: a user alone stays at user_max",
           killers=("GroupTreeControllerTests/aUserAloneOnAnIdleMachineReachesTheBurstNotMore()",)),
    Mutant("empty-user-subgroup-kept", f"{CORE}/Decide/Enforcer.swift",
           "layout.perUserGroup(of: g) != nil ? (counts[g] ?? 0) == 0 : !layout.isWanted(g)",
           "layout.perUserGroup(of: g) != nil ? false : !layout.isWanted(g)",
           "a user's subgroup stays after their last process left: subgroups pile up with every user ever seen",
           killers=("GroupTreeAgentTests",)),
    Mutant("parent-controllers-never-enabled", f"{CORE}/Decide/GroupFiles.swift",
           "rule: { c in Setting(SubtreeControl(c.isInterior)) })",
           "rule: { _ in Setting(SubtreeControl(false)) })",
           "a group holding subgroups never enables cpu and io for them: their weights and caps can not be written",
           killers=("GroupTreeAgentTests",)),
    Mutant("max-users-unbounded", f"{CORE}/Decide/GroupTree.swift",
           "let node: UserNode = users < (limits[group] ?? PerUserPolicy.defaultMaxUsers) ? .user(uid) : .overflow",
           "let node: UserNode = .user(uid)",
           "max_users bounds nothing: one subgroup per user however many come",
           killers=("GroupTreeAgentTests/usersBeyondMaxUsersShareTheOverflowSubgroup()",)),
    Mutant("quiet-user-never-wakes", f"{CORE}/Observe/UserReadSchedule.swift",
           "return grown > accounted && Double(grown - accounted) > limit",
           "return false",
           "a quiet user who starts to run goes unseen for up to quietEvery passes: no redistribution for it meanwhile",
           killers=("QuietUserReadTests", "UserReadScheduleTests/aQuietUserWhoWakesIsReadInTheSamePass()")),
    Mutant("every-user-read-every-pass", f"{CORE}/Observe/UserReadSchedule.swift",
           "guard let state = users[user], state.quiet else { return true }",
           "guard let state = users[user], state.quiet, !state.quiet else { return true }",
           "every user's cpu.stat read in every pass: the agent's cost grows with idle users (issue 20's 1.5 x bound)",
           killers=("QuietUserReadTests", "UserReadScheduleTests/quietUsersAreReadOncePerRoundStaggered()")),
    Mutant("users-listing-kept-whatever-the-count", f"{CORE}/Observe/UserReadSchedule.swift",
           "guard reuses, let k = kept[group], k.descendants == descendants, pass &- k.pass < Self.relistEvery else { return nil }",
           "guard reuses, let k = kept[group], pass &- k.pass < Self.relistEvery else { return nil }",
           "a per_user group's listing reused though subgroups were made or removed: someone else's subgroup unseen for up to relistEvery passes",
           killers=("QuietUserReadTests/theUsersAreListedAgainOnlyWhenTheirCountChanges()",)),
    Mutant("users-listed-every-pass", f"{CORE}/Observe/UserReadSchedule.swift",
           "guard reuses, let k = kept[group], k.descendants == descendants, pass &- k.pass < Self.relistEvery else { return nil }",
           "guard !reuses, let k = kept[group], k.descendants == descendants, pass &- k.pass < Self.relistEvery else { return nil }",
           "a per_user group's users listed in every pass: a readdir of every user's subgroup each second (issue 20's 1.5 x bound)",
           killers=("QuietUserReadTests/theUsersAreListedAgainOnlyWhenTheirCountChanges()",)),
    Mutant("own-subgroup-changes-not-relisted", "Sources/FairshareAgent/Pass/Agent.swift",
           "case .createGroup(let g), .removeGroup(let g): if let parent = g.parent { relist.insert(parent) }",
           "case .createGroup, .removeGroup: break",
           "the agent's own removal then someone else's subgroup keep the count: the kept listing hides the new one",
           killers=("QuietUserReadTests/theUsersAreListedAgainOnlyWhenTheirCountChanges()",)),
    Mutant("settled-shared-inputs-ignored", f"{CORE}/Decide/Reconciler.swift",
           "if settled.count != groups.count || settledShared != shared {",
           "if settled.count != groups.count {",
           "a settled group is not revisited when the capacity, the kernel's lacks or BFQ change: io.bfq.weight never written when BFQ arrives",
           killers=("BFQWeightReconcilerTests/writtenWhileBFQIsActiveOnlyAndAgainWhenItReturns()", "IOSharesAgentTests")),
    Mutant("busy-user-pressure-unread", "Sources/FairshareAgent/Pass/Observer.swift",
           "pressure: moved && groupPressure ?",
           "pressure: false ?",
           "a user held back under its group's own cap (below its cap, not throttled itself) reads as satisfied: a neighbour keeps borrowing its part",
           killers=("HeldBackUserTests/aUserWaitingBelowItsCapIsHungryAndItsNeighbourGivesWay()",)),
    Mutant("observe-mode-enforces", "Sources/FairshareAgent/Pass/Agent.swift",
           "if policy.agent.mode == .observe {\n            await observeOnly(serial: serial, started: started)",
           "if policy.agent.mode == .observe && false {\n            await observeOnly(serial: serial, started: started)",
           "an observing agent runs the act stage: it moves processes and writes weights it was to only report",
           killers=("ObserveModeTests",)),
    Mutant("observe-switch-keeps-everything", "Sources/FairshareAgent/Pass/Agent.swift",
           "let released = from == .enforce && to == .observe ? releaseEverything() : nil",
           "let released: ReleaseReport? = nil",
           "a reload back to observe leaves the processes in their groups and the units' weights set",
           killers=("ObserveModeTests/observingWritesMovesAndSetsNothingAndSaysWhatEnforcingWould()",)),
    Mutant("mine-shows-every-group", f"{CORE}/Report/MineReport.swift",
           "let rows = status.groups.filter { (processesByGroup[$0.name] ?? 0) > 0 }",
           "let rows = status.groups",
           "status --mine answers with every group's row: other users' subgroups, uids and usage",
           killers=("UserSocketTests/theCallerSeesTheirOwnShareAndNothingOfAnyoneElse()",)),
]


# ---- test identifiers ------------------------------------------------------------------------
# An identifier is what `swift test list` prints: "Module.Suite/test()", "Module.Suite/Inner/
# test()" for a nested suite, "Module.test()" for a free Swift Testing function, and
# "Module.Class/testName" for XCTest. Its parts: [Module, Suite..., test].

def parts_of(test_id: str) -> list[str]:
    module, _, rest = test_id.partition(".")
    return [module] + rest.split("/")


def spec_parts(spec: str, modules: set[str]) -> tuple[bool, list[str]]:
    """A selection or killer entry as parts: (whether it names its module, the parts)."""
    head, dot, rest = spec.partition(".")
    if head in modules and "/" not in head:
        return True, [head] + (rest.split("/") if dot and rest else [])
    return False, spec.split("/")


def spec_matches(spec: str, test_id: str, modules: set[str]) -> bool:
    """Whether an entry names this test: its parts are a prefix of the test's parts
    ("Module", "Module.Suite", "Suite", "Suite/test()", "Module.Suite/test()")."""
    parts = parts_of(test_id)
    qualified, wanted = spec_parts(spec, modules)
    return (parts[:len(wanted)] if qualified else parts[1:1 + len(wanted)]) == wanted


_REGEX_SPECIAL = re.compile(r"([\\.()\[\]{}?*+|^$])")


def anchored(prefix_parts: list[str]) -> str:
    """The `swift test --filter` regex for everything under these parts. Swift Testing matches
    a suite's identifier (then runs all of it) or a test's ("Module.Suite/test()/File.swift:1:2",
    so a test is closed by "/" or the end); XCTest's is "Module.Class/test"."""
    esc = [_REGEX_SPECIAL.sub(r"\\\1", p) for p in prefix_parts]
    if len(esc) == 1:
        return f"^{esc[0]}\\."
    return f"^{esc[0]}\\.{'/'.join(esc[1:])}(/|$)"


def filter_for(specs: list[str], ids: list[str], modules: set[str]) -> str:
    """One anchored regex naming exactly what the specs name (resolved against the list, so a
    suite given without its module gets the module it is in)."""
    alternatives = []
    for spec in specs:
        for test_id in ids:
            if spec_matches(spec, test_id, modules):
                qualified, wanted = spec_parts(spec, modules)
                regex = anchored(parts_of(test_id)[:len(wanted) + (0 if qualified else 1)])
                if regex not in alternatives:
                    alternatives.append(regex)
    return "|".join(alternatives)


# ---- reading a test run ----------------------------------------------------------------------
ST_RUN_SUMMARY = re.compile(r"^[✔✘] Test run with (\d+) tests?\b", re.M)
XC_EXECUTED = re.compile(r"^\s*Executed (\d+) tests?, with (\d+) failures?", re.M)
# "✘ Test name() failed after 1.2 seconds with 1 issue." / "✘ Test t(_:) with 3 test cases failed after ..."
ST_FAILED = re.compile(r"^✘ Test (?!run with |case )(.+?)(?: with \d+ test cases?)? failed after ", re.M)
# "✘ Test name() recorded an issue at File.swift:1:2: ...": printed at once, even when the
# process then crashes and its "failed after" lines never leave the buffer.
ST_ISSUE = re.compile(r"^✘ Test (?!run with |case )(.+?) recorded an issue\b", re.M)
# Linux: "Test Case 'Suite.testName' failed (0.001 seconds)."; Darwin: "Test Case '-[Module.Suite testName]' failed"
XC_FAILED = re.compile(r"^Test Case '(?:-\[)?(?:\w+\.)?(\w+)[. ](\w+)\]?' failed", re.M)
CRASHED = re.compile(r"^\*\*\* Program crashed:|Fatal error:|exited with unexpected signal code", re.M)
# The Swift runtime's backtrace of a crash: the crashed thread's frames, and in them the test
# function ("ControllerTests.aFloor...() + 4701 in fairsharePackageTests.xctest at ...").
CRASHED_THREAD = re.compile(r"^Thread \d+ .*crashed:\n(.*?)(?=^Thread \d+ |^Registers:|\Z)", re.M | re.S)
TEST_FRAME = re.compile(r"(?:\b(\w+)\.)?\b(\w+\([\w:]*\)) \+ \d+ in \S+\.xctest\b")


@dataclasses.dataclass
class Run:
    status: str  # passed | failed | crashed | timed out | no summary
    ran: int = 0  # tests run (Swift Testing + XCTest)
    failed: set[str] = dataclasses.field(default_factory=set)  # identifiers
    unnamed: list[str] = dataclasses.field(default_factory=list)  # failures no identifier fits
    crashed_in: set[str] = dataclasses.field(default_factory=set)  # the test a crash's backtrace names
    seconds: float = 0.0


def xunit_failures(path: Path) -> set[str] | None:
    """Failing identifiers from Swift Testing's xUnit file, or None if it is missing or cut
    short (a crash leaves only its head)."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return None
    failed = set()
    for case in root.iter("testcase"):
        if case.find("failure") is None and case.find("error") is None:
            continue
        module, _, suites = case.get("classname", "").partition(".")
        name = case.get("name", "")
        failed.add(f"{module}.{suites.replace('.', '/')}/{name}" if suites else f"{module}.{name}")
    return failed


def named(bare: str, ids: list[str], suite: str | None = None) -> set[str]:
    """The identifiers of the run's tests that a console name fits (Swift Testing's lines name
    no suite; XCTest's on Linux name no module)."""
    return {i for i in ids if parts_of(i)[-1] == bare and (suite is None or parts_of(i)[-2:-1] == [suite])}


def read_run(text: str, xunit: set[str] | None, ids: list[str], rc: int) -> Run:
    run = Run("no summary")
    st = ST_RUN_SUMMARY.findall(text)
    xc = XC_EXECUTED.findall(text)
    run.ran = (int(st[-1]) if st else 0) + (int(xc[-1][0]) if xc else 0)
    failed = set(xunit or ())
    for bare in dict.fromkeys(ST_FAILED.findall(text) + ST_ISSUE.findall(text)):
        if not any(parts_of(f)[-1] == bare for f in failed):
            fits = named(bare, ids)
            failed |= fits
            if not fits:
                run.unnamed.append(bare)
    for suite, test in XC_FAILED.findall(text):
        fits = named(test, ids, suite)
        failed |= fits
        if not fits:
            run.unnamed.append(f"{suite}.{test}")
    run.failed = failed
    if st or (xc and not CRASHED.search(text)):
        if failed or run.unnamed:
            run.status = "failed"
        elif rc != 0:
            run.status = "failed"  # every named test passed, yet the run failed: no test to name
            run.unnamed.append(f"swift test exited {rc} with no failing test named")
        else:
            run.status = "passed"
    elif CRASHED.search(text):
        run.status = "crashed"
        thread = CRASHED_THREAD.search(text)
        for suite, test in TEST_FRAME.findall(thread.group(1) if thread else ""):
            run.crashed_in = named(test, ids, suite or None)
            if run.crashed_in:
                break  # the innermost test function on the crashed thread
    return run


# ---- running swift ---------------------------------------------------------------------------
def session_members(sid: int) -> list[int]:
    """The live processes of a session (Linux: /proc/PID/stat's sixth field)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(stat.parent.name))
    return pids


def run_logged(cmd: list[str], cwd: Path, log: Path, timeout: float) -> int | None:
    """Runs cmd with its output in log, in a session of its own; None if it timed out. Then
    every process of that session is killed: swift test starts the test binary in a process
    group of its own, which a kill of swift's group misses (the binary kept spinning)."""
    with log.open("w") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for _ in range(50):
                left = session_members(proc.pid)
                if not left:
                    break
                for pid in left:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.1)
            else:
                raise RuntimeError(f"could not kill {' '.join(map(str, session_members(proc.pid)))} after {' '.join(cmd)}")
            proc.wait()
            out.write(f"\n(mutation check: killed after {timeout:.0f} s, with every process it started)\n")
            return None


@dataclasses.dataclass
class Workspace:
    src: Path
    logs: Path
    swift: str
    timeout: float
    ids: list[str] = dataclasses.field(default_factory=list)
    modules: set[str] = dataclasses.field(default_factory=set)

    def build(self, log: Path) -> str:
        """passed | build error | timed out. Only the test bundle (every test target and what
        they import): the executables (fairshare, the benches, the fuzzer) run no test here, and
        relinking them after every mutant cost more than the tests."""
        rc = run_logged([self.swift, "build", "--product", TEST_PRODUCT], self.src, log, self.timeout)
        return "timed out" if rc is None else "passed" if rc == 0 else "build error"

    def list_tests(self) -> list[str]:
        out = subprocess.run([self.swift, "test", "list", "--skip-build"], cwd=self.src, capture_output=True,
                             text=True, timeout=self.timeout)
        ids = [line.strip() for line in out.stdout.splitlines() if re.match(r"^\w+\.\S", line.strip())]
        if out.returncode != 0 or not ids:
            raise RuntimeError(f"swift test list failed (exit {out.returncode}): {out.stderr[-2000:]}")
        return ids

    def test(self, log: Path, ids: list[str], include: str, skip: str = "", timeout: float | None = None) -> Run:
        """Runs the tests that `include` (and not `skip`) select; ids are those tests."""
        xunit = log.with_suffix(".xml")
        xunit_st = log.with_name(xunit.stem + "-swift-testing.xml")
        for stale in (xunit, xunit_st):
            stale.unlink(missing_ok=True)
        cmd = [self.swift, "test", "--skip-build", "--filter", include, "--xunit-output", str(xunit)]
        if skip:
            cmd += ["--skip", skip]
        start = time.monotonic()
        rc = run_logged(cmd, self.src, log, timeout or self.timeout)
        seconds = time.monotonic() - start
        if rc is None:
            return Run("timed out", seconds=seconds)
        run = read_run(log.read_text(errors="replace"), xunit_failures(xunit_st), ids, rc)
        run.seconds = seconds
        return run


# ---- the copy --------------------------------------------------------------------------------
def repo_root() -> Path:
    here = Path(__file__).resolve().parent
    out = subprocess.run(["git", "-C", str(here), "rev-parse", "--show-toplevel"], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def tracked_files(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         check=True, capture_output=True)
    return [f for f in out.stdout.decode().split("\0") if f and (repo / f).is_file()]


def sync(repo: Path, src: Path) -> None:
    """Makes src's files equal to the working tree's (tracked and untracked, not ignored),
    rewriting only those whose bytes differ, and removes the ones the tree no longer has."""
    files = tracked_files(repo)
    if (repo / "Package.resolved").is_file():
        files.append("Package.resolved")  # the same dependency versions as the tree
    wanted = set(files)
    for f in files:
        data = (repo / f).read_bytes()
        dest = src / f
        if dest.is_file() and dest.read_bytes() == data:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        shutil.copymode(repo / f, dest)
    for top in ("Sources", "Tests"):
        for p in (src / top).rglob("*"):
            if p.is_file() and str(p.relative_to(src)) not in wanted:
                p.unlink()
    if not (src / ".build").exists() and (repo / ".build").is_dir():
        # Seed with the tree's dependency checkouts and products; the module cache holds the
        # tree's absolute path and must be rebuilt here.
        shutil.copytree(repo / ".build", src / ".build", symlinks=True,
                        ignore=lambda d, names: [n for n in names if n in ("ModuleCache", "fuzz-crashes")])


def check_applies(src: Path, m: Mutant) -> str:
    path = src / m.path
    if not path.is_file():
        return f"no {m.path}"
    n = path.read_text().count(m.old)
    return "yes" if n == 1 else (f"text not found in {m.path}" if n == 0 else f"text found {n} times in {m.path}")


class Applied:
    """A replacement in the copy for the length of a `with` block."""

    def __init__(self, src: Path, m: Mutant):
        self.path, self.m = src / m.path, m

    def __enter__(self):
        self.original = self.path.read_text()
        self.path.write_text(self.original.replace(self.m.old, self.m.new, 1))

    def __exit__(self, *exc):
        self.path.write_text(self.original)


# ---- one mutant ------------------------------------------------------------------------------
@dataclasses.dataclass
class Outcome:
    name: str
    applied: str  # "yes", or why not
    result: str  # killed, killed (attributed by rerun), NOT KILLED, SURVIVED, BUILD ERROR, not run
    why: str = ""  # what killed it, or why it is not killed
    listed: int | None = None  # failing tests in its list
    unlisted: int | None = None  # failing tests outside it (only run when its list passed)
    seconds: float = 0.0
    log: Path | None = None
    problem: str = ""  # non-empty: the check fails


def short(ids: set[str], n: int = 4) -> str:
    names = sorted(i.partition(".")[2] for i in ids)
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def judge(ws: Workspace, m: Mutant, killer_ids: list[str], selection_ids: list[str], selection: str,
          breakage: Mutant | None = None, run_timeout: float | None = None) -> Outcome:
    """Builds and tests one mutant in the copy (with an extra breakage kept through the rerun on
    the unmutated copy, for the self-test's flaky test) and says whether it is killed."""
    start = time.monotonic()
    log = ws.logs / f"{m.name}.log"
    o = Outcome(m.name, "yes", "", log=log)
    killers = filter_for(list(m.killers), killer_ids, ws.modules)
    others = [i for i in selection_ids if i not in set(killer_ids)]
    with contextlib.ExitStack() as kept:
        if breakage:
            kept.enter_context(Applied(ws.src, breakage))
        try:
            return _judge(ws, m, o, log, killer_ids, killers, others, selection, run_timeout)
        finally:
            o.seconds = time.monotonic() - start


def _judge(ws: Workspace, m: Mutant, o: Outcome, log: Path, killer_ids: list[str], killers: str, others: list[str],
           selection: str, run_timeout: float | None) -> Outcome:
    with Applied(ws.src, m):
        built = ws.build(ws.logs / f"{m.name}.build.log")
        if built != "passed":
            o.result, o.log = built.upper(), ws.logs / f"{m.name}.build.log"
            o.problem = (f"mutant {m.name} does not build, which is no kill: fix its replacement (see {o.log})"
                         if built == "build error" else f"mutant {m.name}: its build timed out (see {o.log})")
            return o
        mine = ws.test(log, killer_ids, killers, timeout=run_timeout)
        o.listed = len(mine.failed)
        if mine.status == "failed" and mine.failed:
            o.result, o.why = "killed", f"by {short(mine.failed)}"
            return o
        if mine.status == "crashed":
            o.result = "killed (a listed test trapped)"
            o.why = f"in {short(mine.crashed_in)}" if mine.crashed_in else "(only its listed tests ran)"
            return o
        if mine.status != "passed":
            o.result = "NOT KILLED"
            o.why = {"timed out": f"its listed tests timed out after {mine.seconds:.0f} s: no failing test to attribute",
                     "failed": f"a failure no test is named for ({'; '.join(mine.unnamed)})"}.get(
                mine.status, f"its listed tests' run ended without a summary ({mine.status})")
            o.problem = f"mutant {m.name} NOT killed: {o.why} (see {log})"
            return o
        rest_log = ws.logs / f"{m.name}.others.log"
        rest = ws.test(rest_log, others, selection, skip=killers, timeout=run_timeout) if others else Run("passed")
        o.unlisted, o.log = len(rest.failed), rest_log
        suspects = rest.failed | rest.crashed_in
        if rest.status == "passed":
            o.result, o.why = "SURVIVED", "its listed tests and the rest of the selection all pass"
            o.problem = f"mutant {m.name} SURVIVED: no test notices that {m.breaks} (see {log})"
            return o
        if not suspects:
            o.result = "NOT KILLED"
            o.why = (f"its listed tests pass; the other tests {rest.status} with no failing test to attribute"
                     + (f" ({'; '.join(rest.unnamed)})" if rest.unnamed else ""))
            o.problem = f"mutant {m.name} NOT killed: {o.why} (see {rest_log})"
            return o
    # The mutation is undone: do the suspects fail without it?
    rerun_log = ws.logs / f"{m.name}.rerun.log"
    built = ws.build(ws.logs / f"{m.name}.rerun-build.log")
    again = (ws.test(rerun_log, sorted(suspects), filter_for(sorted(suspects), sorted(suspects), ws.modules))
             if built == "passed" else Run(built))
    if again.status == "passed":
        o.result = "killed (attributed by rerun)"
        o.why = (f"only by tests outside its list, which pass on the unmutated copy: {short(suspects)}"
                 + (f" ({short(rest.crashed_in)} trapped)" if rest.crashed_in else "") + "; add them to its killers")
        return o
    if again.status == "failed" and again.failed:
        innocent = suspects - again.failed
        if innocent and rest.status != "crashed":
            o.result = "killed (attributed by rerun)"
            o.why = (f"only by tests outside its list: {short(innocent)} pass on the unmutated copy "
                     f"({short(again.failed)} fail there too); add them to its killers")
            return o
    o.result = "NOT KILLED"
    o.why = (f"its only failures, {short(suspects)}, outside its list, "
             + {"failed": "fail on the unmutated copy too", "crashed": "crash on the unmutated copy too"}.get(
                 again.status, f"could not be rerun ({again.status})")
             + ": not the mutant's")
    o.problem = f"mutant {m.name} NOT killed: {o.why} (see {rest_log}, {rerun_log})"
    return o


# ---- the check -------------------------------------------------------------------------------
def table(outcomes: list[Outcome]) -> str:
    rows = [("mutant", "applied", "listed failed", "others failed", "result", "time")]
    for o in outcomes:
        rows.append((o.name, o.applied, "-" if o.listed is None else str(o.listed),
                     "-" if o.unlisted is None else str(o.unlisted), o.result, f"{o.seconds:.0f} s" if o.seconds else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


@dataclasses.dataclass(frozen=True)
class Case:
    """A mutant as the check runs it; the self-test's cases add a breakage of a test kept through
    the rerun (a test that fails without the mutant) and a shorter run timeout."""
    mutant: Mutant
    breakage: Mutant | None = None
    run_timeout: float | None = None


def check(cases: list[Case]) -> tuple[list[Outcome], list[str]]:
    """Runs the unmutated copy once and then each case; prints the table; returns the outcomes
    and the problems (each one fails the check)."""
    repo = repo_root()
    src = Path(os.environ.get("MUTATION_DIR") or repo / ".build-mutation" / "src").resolve()
    ws = Workspace(src, src.parent / "logs", os.environ.get("SWIFT", "swift"),
                   float(os.environ.get("MUTATION_TIMEOUT", "1200")))
    src.mkdir(parents=True, exist_ok=True)
    ws.logs.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()

    print(f"mutation check: copying the working tree to {src}", flush=True)
    sync(repo, src)
    problems: list[str] = []
    baseline = Outcome("(unmutated)", "-", "", log=ws.logs / "unmutated.log")
    outcomes = [baseline]

    def finish() -> tuple[list[Outcome], list[str]]:
        for c in cases:
            if not any(o.name == c.mutant.name for o in outcomes):
                outcomes.append(Outcome(c.mutant.name, "-", "not run"))
        print()
        print(table(outcomes))
        for o in outcomes[1:]:
            if o.why:
                print(f"  {o.name}: {o.result} {o.why}")
        killed = sum(o.result.startswith("killed") for o in outcomes[1:])
        print(f"\n{len(cases)} mutants, {killed} killed, total {time.monotonic() - began:.0f} s", flush=True)
        return outcomes, problems + [o.problem for o in outcomes if o.problem]

    print(f"unmutated: build (log {ws.logs}/unmutated.build.log)", flush=True)
    built = ws.build(ws.logs / "unmutated.build.log")
    if built != "passed":
        baseline.result = built.upper()
        problems.append(f"the unmutated copy did not build ({built}): see {ws.logs}/unmutated.build.log")
        return finish()
    ws.ids = ws.list_tests()
    ws.modules = {parts_of(i)[0] for i in ws.ids}
    selection_ids = [i for i in ws.ids if any(spec_matches(s, i, ws.modules) for s in SELECTION)]
    empty = [s for s in SELECTION if not any(spec_matches(s, i, ws.modules) for i in ws.ids)]
    if empty:
        problems.append(f"the selection names suites the copy does not have: {', '.join(empty)} (renamed? update SELECTION)")
    selection = filter_for(SELECTION, ws.ids, ws.modules)
    print(f"unmutated: swift test --filter '{selection}' ({len(selection_ids)} tests; log {baseline.log})", flush=True)
    run = ws.test(baseline.log, selection_ids, selection)
    baseline.seconds, baseline.listed = run.seconds, len(run.failed)
    baseline.result = "passed" if run.status == "passed" else run.status.upper()
    if run.status != "passed":
        problems.append(f"the unmutated copy did not pass ({run.status}: {short(run.failed) or '; '.join(run.unnamed)}): see {baseline.log}")
        return finish()
    if run.ran != len(selection_ids):
        problems.append(f"the unmutated run ran {run.ran} tests where the list selects {len(selection_ids)}: "
                        f"the filter and the list disagree (see {baseline.log})")
        return finish()

    for c in cases:
        m = c.mutant
        applies = [check_applies(src, x) for x in (m, c.breakage) if x]
        if any(a != "yes" for a in applies):
            why = "; ".join(a for a in applies if a != "yes")
            outcomes.append(Outcome(m.name, "no", "not run",
                                    problem=f"mutant {m.name} no longer applies ({why}): update it in {Path(__file__).name}"))
            continue
        unnamed = [k for k in m.killers if not any(spec_matches(k, i, ws.modules) for i in selection_ids)]
        if not m.killers or unnamed:
            outcomes.append(Outcome(m.name, "yes", "not run", problem=(
                f"mutant {m.name}'s killers {', '.join(unnamed)} name no test of the selection (renamed? update its list)"
                if unnamed else f"mutant {m.name} names no killers")))
            continue
        killer_ids = [i for i in selection_ids if any(spec_matches(k, i, ws.modules) for k in m.killers)]
        print(f"{m.name}: {m.breaks} ({len(killer_ids)} listed tests)", flush=True)
        o = judge(ws, m, killer_ids, selection_ids, selection, c.breakage, c.run_timeout)
        print(f"  {o.result} {o.why} ({o.seconds:.0f} s)", flush=True)
        outcomes.append(o)
    return finish()


# ---- the self-test ---------------------------------------------------------------------------
# The check's own failure modes: each must be reported (the words), and all but the attributed
# kill must fail the check.
CONTROLLER = f"{CORE}/Decide/Controller.swift"
SELFTEST = [
    (Case(Mutant("selftest-stale", CONTROLLER, "text no refactor leaves behind", "x",
                 "(self-test) a mutation whose text is gone", killers=("ControllerTests",))),
     "no longer applies (text not found"),
    (Case(Mutant("selftest-no-build", CONTROLLER, "let factor = g.idle ? 1 : fairnessFactor(g.name, policy: policy)",
                 "let factor: Int = g.idle ? 1 : fairnessFactor(g.name, policy: policy)",
                 "(self-test) a mutant that does not compile", killers=("ControllerTests",))),
     "does not build"),
    (Case(Mutant("selftest-survivor", CONTROLLER, "/// Hungry when some task waited for a CPU",
                 "/// (changed) Hungry when some task waited for a CPU", "(self-test) a comment changed",
                 killers=("ControllerTests",))),
     "SURVIVED"),
    # An unattributed failure: the listed tests hang in the controller, the run times out.
    (Case(Mutant("selftest-timeout", CONTROLLER, "let ceiling = g.ceiling?.cpus(capacity: capacity) ?? .infinity",
                 "var spin = 1; while spin > 0 { spin = spin | 1 }\n"
                 "        let ceiling = g.ceiling?.cpus(capacity: capacity) ?? .infinity",
                 "(self-test) the controller never returns", killers=("ControllerTests",)), run_timeout=20),
     "NOT killed: its listed tests timed out"),
    # Killed only by a test outside its list that passes without the mutant: attributed, and said.
    (Case(Mutant("selftest-unlisted-kill", CONTROLLER, "if let p = o.pressure, p > Self.pressureThreshold",
                 "if let p = o.pressure, p > 1", "(self-test) pressure is no hunger; its list names another rule",
                 killers=("FairnessStatusTests",))),
     None),
    # Killed only by a test that fails without the mutant too (a flaky or broken test): no kill.
    (Case(Mutant("selftest-unrelated", CONTROLLER, "/// Hungry when some task waited for a CPU",
                 "/// (changed again) Hungry when some task waited for a CPU",
                 "(self-test) a comment changed while another test is broken", killers=("ControllerTests",)),
          breakage=Mutant("selftest-broken-test", "Tests/FairshareSimulationTests/FluidSimulatorTests.swift",
                          '#expect(sim.counters(of: a).nrThrottled == 0, "weight held a at 1 CPU, below its 1.5 quota")',
                          '#expect(sim.counters(of: a).nrThrottled == 1, "weight held a at 1 CPU, below its 1.5 quota")',
                          "(self-test) a test that fails without the mutant")),
     "NOT killed: its only failures"),
]
SELFTEST_ATTRIBUTED = "selftest-unlisted-kill"


# Excerpts of a real `swift test` log (Swift 6.3.1, a package with both kinds of test): the
# reader must name every failure of both formats, count the tests, and find the tests in flight
# when the process crashed.
LOG_IDS = ["LibTests.GammaTests/testFails", "LibTests.GammaTests/testPasses", "LibTests.AlphaTests/Inner/innerFails()",
           "LibTests.AlphaTests/fails()", "LibTests.AlphaTests/passes()", "LibTests.AlphaTests/table(_:)",
           "LibTests.BetaTests/fails()", "LibTests.CrashTests/slow()", "LibTests.CrashTests/traps()"]
LOG_FAILED = """Test Case 'GammaTests.testFails' started at 2026-12-04 18:35:37.673
/tmp/ta-fmt/Tests/LibTests/XC.swift:4: error: GammaTests.testFails : XCTAssertEqual failed: ("1") is not equal to ("2") -
Test Case 'GammaTests.testFails' failed (0.001 seconds)
Test Case 'GammaTests.testPasses' passed (0.0 seconds)
	 Executed 2 tests, with 1 failure (0 unexpected) in 0.001 (0.001) seconds
◇ Test run started.
◇ Suite AlphaTests started.
◇ Test fails() started.
✘ Test fails() recorded an issue at ST.swift:13:4: Caught error: CancellationError()
✘ Test fails() failed after 0.001 seconds with 1 issue.
✘ Test table(_:) recorded an issue with 1 argument x → 2 at ST.swift:7:54: Expectation failed: (x → 2) != 2
✘ Test table(_:) with 3 test cases failed after 0.001 seconds with 1 issue.
✔ Test passes() passed after 0.001 seconds.
✘ Test innerFails() failed after 0.001 seconds with 1 issue.
✘ Suite AlphaTests failed after 0.002 seconds with 3 issues.
✘ Test run with 5 tests in 3 suites failed after 0.002 seconds with 3 issues.
"""
LOG_CRASHED = """	 Executed 0 tests, with 0 failures (0 unexpected) in 0.0 (0.0) seconds
◇ Test run started.
◇ Test traps() started.
◇ Test slow() started.
✘ Test fails() recorded an issue at ST.swift:6:24: Expectation failed: (one() → 1) == 2
LibTests/Crash.swift:1: Fatal error: Unexpectedly found nil while unwrapping an Optional value

*** Signal 4: Backtracing from 0x7f35b216df7f... done ***

*** Program crashed: Illegal instruction at 0x00007f35b216df7f ***

Thread 0 "FmtPackageTests":

  0      0x00007f35b0a92301 sigsuspend + 65 in libc.so.6

Thread 2 "oot.default-qos" crashed:

  0                  0x00007f35b216df7f closure #1 in closure #1 in _assertionFailure(_:_:file:line:flags:) + 623 in libswiftCore.so
  1 [ra]             0x00007f35b22f961f _assertionFailure(_:_:file:line:flags:) + 302 in libswiftCore.so
  2 [ra] [inlined]   0x0000564880e8a70e freestanding macro expansion #1 of expect in module LibTests file Crash.swift line 6 column 5 in FmtPackageTests.xctest at /tmp/swift-generated-sources/@__swiftmacro_8LibTests0016Crashswift_eCJAcfMX5_4_6expectfMf_.swift:1:33
  3 [ra]             0x0000564880e8a70e CrashTests.traps() + 429 in FmtPackageTests.xctest at /tmp/ta-fmt/Tests/LibTests/Crash.swift:6:5
  4 [async]          0x0000564880e8a270 static CrashTests.$s8LibTests05CrashB0V5traps4TestfMp_16Z947fb7948461bfcfMu_@Sendable () in FmtPackageTests.xctest at /tmp/swift-generated-sources/@__swiftmacro_8LibTests05CrashB0V5traps4TestfMp_.swift:4

Registers:

rax 0x0000000000000000  0
"""


def reader_selftest() -> list[str]:
    wrong = []
    xunit = {"LibTests.BetaTests/fails()", "LibTests.AlphaTests/table(_:)", "LibTests.AlphaTests/Inner/innerFails()"}
    run = read_run(LOG_FAILED, xunit, LOG_IDS, 1)
    want = xunit | {"LibTests.GammaTests/testFails"}
    if (run.status, run.ran, run.failed, run.unnamed) != ("failed", 7, want, []):
        wrong.append(f"reading a failed run with the xUnit file: got {run}, want failed, 7 run, {sorted(want)}")
    run = read_run(LOG_FAILED, None, LOG_IDS, 1)  # without it, a bare name fits every suite's test of that name
    want |= {"LibTests.AlphaTests/fails()"}
    if (run.status, run.failed) != ("failed", want):
        wrong.append(f"reading a failed run from the console alone: got {run}, want {sorted(want)}")
    run = read_run(LOG_CRASHED, None, LOG_IDS, 1)
    want = ({"LibTests.CrashTests/traps()"}, {"LibTests.AlphaTests/fails()", "LibTests.BetaTests/fails()"})
    if (run.status, run.crashed_in, run.failed) != ("crashed",) + want:
        wrong.append(f"reading a crashed run: got {run}, want crashed in {sorted(want[0])} after {sorted(want[1])} failed")
    run = read_run(LOG_FAILED.replace("✘", "✔").replace("failed", "passed").replace("Test Case 'GammaTests.testFails' passed", ""),
                   set(), LOG_IDS, 0)
    if run.status != "passed":
        wrong.append(f"reading a passed run: got {run}")
    if not read_run(LOG_FAILED.replace("✘", "✔").replace("failed", "passed"), set(), LOG_IDS, 1).unnamed:
        wrong.append("a run that exits non-zero with every test passed must be an unnamed failure")
    if filter_for(["ControllerTests/demand(_:)", "Sim"], ["M.ControllerTests/demand(_:)", "Sim.S/t()"], {"M", "Sim"}) \
            != r"^M\.ControllerTests/demand\(_:\)(/|$)|^Sim\.":
        wrong.append("the filter for a test and a module is not anchored as swift test needs it")
    return wrong


def selftest_verdict(outcomes: list[Outcome], problems: list[str]) -> list[str]:
    """What the self-test's cases did wrong (empty: each failure mode was reported as it must be)."""
    wrong = []
    by_name = {o.name: o for o in outcomes}
    for case, words in SELFTEST:
        name = case.mutant.name
        mine = [p for p in problems if f"mutant {name} " in p or f"mutant {name}'s" in p]
        if words is None:
            o = by_name.get(name)
            if mine or not o or o.result != "killed (attributed by rerun)" or "outside its list" not in o.why:
                wrong.append(f"{name}: expected 'killed (attributed by rerun)', saying so, and no problem; "
                             f"got {o.result if o else 'nothing'} {o.why if o else ''} {mine}")
        elif not any(words in p for p in mine):
            wrong.append(f"{name}: expected a problem saying '{words}', got {mine or 'none'}")
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this mutant (repeatable; no self-test)")
    parser.add_argument("--list", action="store_true", help="list the mutants and their killers, and exit")
    parser.add_argument("--selftest", action="store_true", help="only the self-test: the check's failure modes are reported")
    args = parser.parse_args()
    if args.list:
        for m in MUTANTS:
            print(f"{m.name}: {m.breaks} ({m.path})\n    killers: {', '.join(m.killers)}")
        return 0
    selftest = [case for case, _ in SELFTEST]
    if args.selftest:
        cases = selftest
    elif args.only:
        unknown = set(args.only) - {m.name for m in MUTANTS}
        if unknown:
            print(f"mutation check: no mutant named {', '.join(sorted(unknown))} (--list names them)", file=sys.stderr)
            return 2
        cases = [Case(m) for m in MUTANTS if m.name in args.only]
    else:
        cases = selftest + [Case(m) for m in MUTANTS]
    if any(c.mutant.name.startswith("selftest-") for c in cases):
        wrong = reader_selftest()
        for w in wrong:
            print(f"mutation self-test: {w}", file=sys.stderr)
        if wrong:
            print("mutation self-test: FAILED (the log reader)")
            return 1
        print("mutation self-test: the log reader names XCTest's and Swift Testing's failures and a crash's tests", flush=True)
    outcomes, problems = check(cases)
    selftest_names = {c.mutant.name for c in selftest}
    failed = False
    if any(c.mutant.name in selftest_names for c in cases):
        ran_selftest = [o for o in outcomes if o.name in selftest_names]
        baseline_ok = outcomes[0].result == "passed"
        wrong = selftest_verdict(ran_selftest, [p for p in problems if any(f"mutant {n}" in p for n in selftest_names)])
        for p in problems:
            if any(f"mutant {n}" in p for n in selftest_names):
                print(f"  self-test reported: {p}")
        for w in wrong:
            print(f"mutation self-test: {w}", file=sys.stderr)
        if wrong or not baseline_ok:
            print("mutation self-test: FAILED")
            failed = True
        else:
            print("mutation self-test: a stale mutation, a mutant that does not build, a survivor, a timeout and a "
                  "failure only a broken test shows each fail the check; a kill only an unlisted test sees is attributed")
        problems = [p for p in problems if not any(f"mutant {n}" in p for n in selftest_names)]
    if not args.selftest:
        for p in problems:
            print(f"mutation check: {p}", file=sys.stderr)
        print("mutation check: " + ("FAILED" if problems else "every mutant killed"))
        failed = failed or bool(problems)
    elif problems:  # the unmutated copy or the selection: the self-test could not run as it must
        for p in problems:
            print(f"mutation self-test: {p}", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
