import Courier
import CourierConformance
import Testing

struct MutantHarness: ConformanceHarness {
    let mutation: MutantBackend.Mutation
    var declaredCapabilities: QueueCapabilities { mutation.capabilities }
    var timing: ConformanceTiming {
        switch mutation {
        case .leaseTenTimesAsLongAsReported, .leaseATenthAsLongAsReported, .keepsResponsesTenTimesTheTTL,
            .expiresResponsesAtATenthOfTheTTL:
            // Long enough that the kit's reads fall inside the broken window even on a loaded machine.
            .init(lease: .seconds(4), responseTTL: .seconds(4), wakeBound: .milliseconds(100), scale: 2)
        default: .inProcess
        }
    }

    func makeBackend(configuration: QueueConfiguration) async throws -> any QueueBackend {
        try MutantBackend(mutation, configuration: configuration)
    }
}

/// Each broken adapter must fail at least one of the cases that guard the rule it breaks.
@Suite("The kit catches broken adapters")
struct MutantTests {
    static let expectations: [(MutantBackend.Mutation, [String])] = [
        (.dropsOneInHundred, ["C1"]),
        (.reportForgetsFingerprintWhenFinished, ["G9"]),
        (.countsIgnoreCancelled, ["L1"]),
        (.countsRunningAsPending, ["L1"]),
        (.listsOldestFirst, ["L2"]),
        (.listingIgnoresFilter, ["L3"]),
        (.deliversTwice, ["C1", "F5"]),
        (.answersTwice, ["E2", "E3"]),
        (.neverExpiresResponses, ["E4"]),
        (.ignoresFencing, ["D5"]),
        (.neverDeadLetters, ["D4", "D7"]),
        (.giveBackSpendsAttempt, ["D8", "D10"]),
        (.delayedGiveBackComesBackAtOnce, ["D10"]),
        (.hangsInSubscribe, ["F1", "F2"]),
        (.hangsInConsume, ["A1", "C2"]),
        (.hangsInShutdown, ["A1", "H1"]),
        (.subscribeReturnsLate, ["F6"]),
        (.getResponseWaits, ["E1"]),
        (.wakesOnlyOnAnswers, ["J1", "J2", "J3", "J4"]),
        (.wakesOnlyOnAnswersAndCancels, ["J1", "J3", "J4"]),
        (.statusSaysCompletedWhenFinished, ["J1", "J2"]),
        (.statusForgetsFinished, ["J1", "J7"]),
        (.republishAcceptedUnlessCompleted, ["J7"]),
        (.republishAcceptedAfterCancel, ["J7"]),
        (.cancelIgnoredWhileWaitingForRetry, ["J6"]),
        (.cancelTwiceSucceeds, ["J2"]),
        (.dropsDeadlines, ["C6", "J3", "J5"]),
        (.extendsDeadlines, ["J3"]),
        (.queueNamesCaseInsensitive, ["B5"]),
        (.queueNamesFolded, ["B5"]),
        (.claimsShared, ["H4"]),
        (.subscribePollsEverySecond, ["K1"]),
        (.subscribePollsEveryHalfSecond, ["K1"]),
        (.truncatesLargePayloads, ["A8"]),
        (.dropsLastByteOfLargeResponses, ["A8"]),
        (.trimsTrailingWhitespace, ["A9"]),
        (.lowercasesHeaderKeys, ["A9"]),
        (.truncatesLongErrors, ["A9"]),
        (.idsCaseInsensitive, ["B4"]),
        (.getResponseCaseInsensitive, ["B4"]),
        (.statusAfterShutdown, ["H6"]),
        (.releaseAfterShutdown, ["H6"]),
        (.leaseTenTimesAsLongAsReported, ["D9"]),
        (.leaseATenthAsLongAsReported, ["D9"]),
        (.keepsResponsesTenTimesTheTTL, ["E7"]),
        (.expiresResponsesAtATenthOfTheTTL, ["E7"]),
        (.dropsEveryHundredthChunk, ["S1"]),
        (.reordersChunkPairs, ["S1", "S3"]),
        (.appendsWithoutFencing, ["S5"]),
        (.hidesTrimming, ["S8"]),
        (.replaysFromTheStart, ["S3"]),
        (.reportsNoProgress, ["G6"]),
        (.reportsTheFirstStart, ["G5"]),
        // Caught only since the kit's watched backend passes this call to the adapter (it used the default).
        (.reportsTheWaitsStartOnWake, ["G10"]),
        (.cancelsWhatItGaveUpWaitingOn, ["G11"]),
        (.reportForgetsSubmissionWhenFinished, ["G5", "G7"]),
    ]

    /// A capability that no runnable case can prove is not certified.
    @Test func aDurableClaimWithoutTheReopenHookIsNotCertified() async throws {
        await #expect {
            try await Conformance.checkCapabilities(MutantHarness(mutation: .claimsDurable))
        } throws: { error in
            "\(error)".contains("not certified") && "\(error)".contains("durable")
        }
    }

    /// The most a case may take against the memory timing: its deadline (20 leases, at least 10 s, × scale) and
    /// the shutdown bound, plus room for a loaded machine.
    static let longestCase: Duration = .seconds(60)

    @Test(arguments: expectations.map(\.0))
    func mutantFails(_ mutation: MutantBackend.Mutation) async throws {
        try await Self.expectCaught(mutation, by: Self.expectations.first { $0.0 == mutation }!.1)
    }

    /// Runs the cases that guard `mutation`'s rule and expects every one of them to fail, each within a minute.
    static func expectCaught(_ mutation: MutantBackend.Mutation, by guarding: [String]) async throws {
        let harness = MutantHarness(mutation: mutation)
        var failures: [String] = []
        for testCase in Conformance.cases(for: harness) where guarding.contains(testCase.id) {
            let started = ContinuousClock.now
            do {
                try await testCase.run(harness)
            } catch let failure as ConformanceFailure {
                failures.append(failure.description)
            }
            // The kit never hangs: even an adapter call that never returns ends the case by its deadline.
            #expect(
                ContinuousClock.now - started < longestCase, "\(testCase) ran \(ContinuousClock.now - started)")
        }
        #expect(failures.count == guarding.count, "\(mutation) passed cases that guard its rule: \(failures)")
    }

    @Test func correctAdapterPassesTheSameCases() async throws {
        let ids = Set(Self.expectations.flatMap(\.1))
        for testCase in Conformance.cases(for: MemoryHarness()) where ids.contains(testCase.id) {
            try await testCase.run(MemoryHarness())
        }
    }
}

/// Leaks are counted process-wide, so the leaking mutants run after the others, one at a time: dozens of broken
/// adapters allocating and freeing at once would hide a leak of a few hundred bytes per wait (see
/// docs/conformance.md, "What the kit cannot see").
@Suite("The kit finds leaks without a probe", .serialized)
struct LeakMutantTests {
    static let expectations: [(MutantBackend.Mutation, [String])] = [
        (.leavesATimerPerWait, ["F9"]),
        (.keepsEveryWaiterRecord, ["F9"]),
        (.keepsAThreadAfterShutdown, ["H7"]),
        (.keepsAFileOpenAfterShutdown, ["H7"]),
    ]

    @Test(arguments: expectations.map(\.0))
    func leakingMutantFails(_ mutation: MutantBackend.Mutation) async throws {
        try await MutantTests.expectCaught(mutation, by: Self.expectations.first { $0.0 == mutation }!.1)
    }
}
