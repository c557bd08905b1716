import Courier
import Foundation

/// ``QueueBackend/statusReport(of:)``: the state, attempt, latest progress and times of a request, through its
/// whole life and in every final state.
extension Conformance {
    static let statusReportCases: [ConformanceCase] = [
        ConformanceCase("G5", "statusReportFollowsTheRequest") { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let id = CorrelationID.generate()
            let publishing = Date()
            try await c.publish(backend, id: id)
            let published = Date()
            let pending = try await c.report(backend, id, expecting: .pending(attempt: 1), rule: "G5")
            try c.expect(pending.attempt == nil, "status report", "a request never delivered has attempt \(pending)")
            try c.expect(
                pending.startedAt == nil && pending.finishedAt == nil, "status report",
                "a request never delivered reports a start or finish: \(pending)")
            let submitted = try c.expectTime(pending.submittedAt, "submitted", from: publishing, to: published)
            try c.expect(pending.updatedAt == submitted, "status report", "a new request was updated: \(pending)")

            let claiming = Date()
            let delivery = try await c.claim(backend, rule: "G5")
            let claimed = Date()
            let running = try await c.report(backend, id, expecting: .running(attempt: 1), rule: "G5")
            try c.expect(running.attempt == 1, "status report", "the first delivery reports \(running)")
            try c.expect(running.submittedAt == submitted, "status report", "submission moved: \(running)")
            let started = try c.expectTime(running.startedAt, "started", from: claiming, to: claimed)
            try c.expect(
                started >= submitted && running.updatedAt == started, "status report",
                "a delivery started before its submission or left the update time behind: \(running)")

            // A redelivery is a new start with its own attempt number. The two starts are a second apart, and the
            // gap is judged on the store's own clock, so a store whose clock differs from the test's cannot hide a
            // start that did not move.
            try await Task.sleep(for: .seconds(1))
            try await backend.release(delivery.lease, retryAfter: .zero, reason: "again")
            let reclaiming = Date()
            let second = try await c.claim(backend, rule: "G5")
            let reclaimed = Date()
            let again = try await c.report(backend, id, expecting: .running(attempt: 2), rule: "G5")
            try c.expect(again.attempt == 2, "status report", "the second delivery reports \(again)")
            let restarted = try c.expectTime(again.startedAt, "started again", from: reclaiming, to: reclaimed)
            let gap = restarted.timeIntervalSince(started)
            try c.expect(
                gap >= reclaiming.timeIntervalSince(claimed) - 0.25
                    && gap <= reclaimed.timeIntervalSince(claiming) + 0.25,
                "status report",
                "the second start is \(gap) s after the first, though the claims were \(reclaiming.timeIntervalSince(claimed)) "
                    + "to \(reclaimed.timeIntervalSince(claiming)) s apart: \(again)")

            let answering = Date()
            try await c.answer(backend, second)
            let answered = Date()
            let finished = try await c.report(backend, id, expecting: .finished(.completed), rule: "G5")
            let end = try c.expectTime(finished.finishedAt, "finished", from: answering, to: answered)
            try c.expect(
                finished.attempt == 2 && finished.submittedAt == submitted && finished.startedAt == again.startedAt,
                "status report", "finishing changed the attempt, submission or start: \(finished)")
            try c.expect(
                end >= restarted && finished.updatedAt == end, "status report",
                "the finish is before the start or not the last update: \(finished)")
        },
        ConformanceCase("G6", "statusReportCarriesProgress", needs: .eventStreams) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let request = try await c.publish(backend)
            let id = request.correlationID
            let first = try await c.claim(backend, rule: "G6")
            let quarter = RequestProgress(fraction: 0.25, message: "validating", counter: 1)
            let appending = Date()
            try await backend.appendEvents([.progress(quarter), .text("a")], holding: first.lease)
            let appended = Date()
            var report = try await c.report(backend, id, expecting: .running(attempt: 1), rule: "G6")
            try c.expect(report.progress == quarter, "status report", "after progress \(quarter) it reports \(report)")
            _ = try c.expectTime(report.updatedAt, "updated by an append", from: appending, to: appended)
            // Chunks leave progress as it was; the newest of several in one append wins.
            try await backend.appendEvents([.text("b")], holding: first.lease)
            report = try await c.report(backend, id, expecting: .running(attempt: 1), rule: "G6")
            try c.expect(report.progress == quarter, "status report", "a chunk changed the progress: \(report)")
            let half = RequestProgress(fraction: 0.5, message: "attempt 2 of 3", counter: 2)
            try await backend.appendEvents(
                [.progress(RequestProgress(fraction: 0.4)), .progress(half), .text("c")], holding: first.lease)
            report = try await c.report(backend, id, expecting: .running(attempt: 1), rule: "G6")
            try c.expect(report.progress == half, "status report", "after progress \(half) it reports \(report)")
            // A new delivery starts without the progress of the one before it, and its own is kept at the end.
            try await backend.release(first.lease, retryAfter: .zero, reason: "again")
            let second = try await c.claim(backend, rule: "G6")
            report = try await c.report(backend, id, expecting: .running(attempt: 2), rule: "G6")
            try c.expect(report.progress == nil, "status report", "a new delivery inherited progress: \(report)")
            let message = RequestProgress(message: "almost")
            try await backend.appendEvents([.progress(message)], holding: second.lease)
            try await c.answer(backend, second)
            report = try await c.report(backend, id, expecting: .finished(.completed), rule: "G6")
            try c.expect(report.progress == message, "status report", "the finished request reports \(report)")
        },
        ConformanceCase("G7", "statusReportOfEveryFinalState") { c in
            let backend = try await c.backend(c.holdingConfiguration(maxAttempts: 1))
            // Cancelled before any delivery: no attempt and no start.
            let waiting = try await c.publish(backend)
            try await backend.cancel(waiting.correlationID)
            let cancelled = try await c.report(
                backend, waiting.correlationID, expecting: .finished(.cancelled), rule: "G7")
            try c.expect(
                cancelled.attempt == nil && cancelled.startedAt == nil && cancelled.submittedAt != nil
                    && cancelled.finishedAt != nil, "status report", "a cancelled pending request reports \(cancelled)")
            // Cancelled while running, failed, and dead-lettered: each keeps its delivery.
            var finals: [(CorrelationID, ResponseStatus)] = []
            let running = try await c.publish(backend)
            _ = try await c.claim(backend, rule: "G7")
            try await backend.cancel(running.correlationID)
            finals.append((running.correlationID, .cancelled))
            let failing = try await c.publish(backend)
            let failed = try await c.claim(backend, rule: "G7")
            try await backend.publishResponse(.failure(failing.correlationID, error: "no"), settling: failed.lease)
            finals.append((failing.correlationID, .failed))
            let dying = try await c.publish(backend)
            let dead = try await c.claim(backend, rule: "G7")
            try await backend.release(dead.lease, retryAfter: .zero, reason: "last attempt")
            finals.append((dying.correlationID, .deadLettered))
            for (id, status) in finals {
                let report = try await c.report(backend, id, expecting: .finished(status), rule: "G7")
                try c.expect(
                    report.attempt == 1, "status report", "a \(status.rawValue) request reports attempt \(report)")
                guard let submitted = report.submittedAt, let started = report.startedAt,
                    let finished = report.finishedAt
                else {
                    throw ConformanceFailure(rule: "status report", "a \(status.rawValue) request reports \(report)")
                }
                try c.expect(
                    submitted <= started && started <= finished && report.updatedAt == finished, "status report",
                    "a \(status.rawValue) request's times are out of order: \(report)")
            }
        },
        ConformanceCase("G8", "statusReportOfUnknownAndExpired") { c in
            let backend = try await c.backend()
            try c.expect(
                try await backend.statusReport(of: .generate()) == .unknown, "status report",
                "an id never published is reported")
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "G8")
            try await c.answer(backend, delivery)
            _ = try await c.report(backend, request.correlationID, expecting: .finished(.completed), rule: "G8")
            let gone = ContinuousClock.now + backend.configuration.responseTTL + c.timingAllowance
            while try await backend.statusReport(of: request.correlationID) != .unknown {
                if ContinuousClock.now > gone {
                    throw ConformanceFailure(
                        rule: "status report", "a response past its TTL is still reported after \(c.timingAllowance)")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        },
        ConformanceCase("G9", "statusReportKeepsTheFingerprint") { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let fingerprint = "sha256:" + String(repeating: "5e", count: 32) + " é"
            let marked = QueueRequest(payload: Data("marked".utf8), fingerprint: fingerprint)
            let plain = QueueRequest(payload: Data("plain".utf8))
            try await backend.publishRequest(marked)
            try await backend.publishRequest(plain)
            func expectFingerprints(_ when: String) async throws {
                let markedReport = try await backend.statusReport(of: marked.correlationID)
                let plainReport = try await backend.statusReport(of: plain.correlationID)
                try c.expect(
                    markedReport.fingerprint == fingerprint && plainReport.fingerprint == nil, "G9 fingerprint",
                    "\(when): reported \(markedReport.fingerprint ?? "none") and \(plainReport.fingerprint ?? "none")")
            }
            try await expectFingerprints("pending")
            let first = try await c.claim(backend, rule: "G9")
            let second = try await c.claim(backend, rule: "G9")
            try await expectFingerprints("running")
            try await c.answer(backend, first)
            try await c.answer(backend, second)
            try await expectFingerprints("answered")
            try await c.expectError(.invalidConfiguration, "G9", "a fingerprint of 129 bytes") {
                try await backend.publishRequest(
                    QueueRequest(payload: Data(), fingerprint: String(repeating: "f", count: 129)))
            }
            try await c.expectError(.invalidConfiguration, "G9", "an empty fingerprint") {
                try await backend.publishRequest(QueueRequest(payload: Data(), fingerprint: ""))
            }
        },
        ConformanceCase("G10", "subscribeWithStatusReportAgreesWithTheStatusReport") { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let request = try await c.publish(backend, "G10")
            let id = request.correlationID
            // Waiting before the answer (the wake-up may bring the report), then after it (a stored response).
            let limit = c.timing.scaled(.seconds(10))
            let waiting = Task { try await backend.subscribeWithStatusReport(to: id, timeout: limit) }
            try await Task.sleep(for: c.timing.scaled(c.timing.wakeBound))
            let delivery = try await c.claim(backend, rule: "G10")
            if backend.capabilities.contains(.eventStreams) {
                let progress = RequestProgress(fraction: 0.5, message: "half way", counter: 2)
                try await backend.appendEvents([.progress(progress), .text("partial")], holding: delivery.lease)
            }
            try await c.answer(backend, delivery)
            let woken = try await waiting.value
            let report = try await c.report(backend, id, expecting: .finished(.completed), rule: "G10")
            try c.expect(
                woken.response.payload == request.payload && woken.response.status == .completed,
                "subscribe with status report", "woken with \(woken.response)")
            try c.expect(
                woken.report == report, "subscribe with status report",
                "woken with the report \(woken.report), but the status report says \(report)")
            let later = try await backend.subscribeWithStatusReport(to: id, timeout: limit)
            try c.expect(
                later.response == woken.response && later.report == report, "subscribe with status report",
                "once answered it gives \(later.report), but the status report says \(report)")
        },
        ConformanceCase("G11", "publishRequestAndWaitAnswersAsPublishThenSubscribe") { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let limit = c.timing.scaled(.seconds(10))
            let request = QueueRequest(payload: Data("G11".utf8))
            let id = request.correlationID
            let waiting = Task { try await backend.publishRequestAndWait(request, timeout: limit) }
            let delivery = try await c.claim(backend, rule: "G11")
            try c.expect(
                delivery.request.correlationID == id && delivery.request.payload == request.payload,
                "publish and wait", "published \(id), but \(delivery.request.correlationID) was delivered")
            try await c.answer(backend, delivery)
            let finished = try await waiting.value
            let report = try await c.report(backend, id, expecting: .finished(.completed), rule: "G11")
            try c.expect(
                finished.response.payload == request.payload && finished.response.status == .completed
                    && finished.report == report,
                "publish and wait", "got \(finished.response) with \(finished.report); the status report says \(report)"
            )
            // A known id is refused, as publishRequest refuses it, and nothing waits.
            try await c.expectError(.duplicateRequest, "G11", "publishing and waiting on a known id") {
                _ = try await backend.publishRequestAndWait(request, timeout: limit)
            }
            // A wait that runs out leaves its request published.
            let unanswered = QueueRequest(payload: Data("G11 unanswered".utf8))
            try await c.expectError(.timedOut, "G11", "a wait nobody answers") {
                _ = try await backend.publishRequestAndWait(unanswered, timeout: c.timing.scaled(.milliseconds(200)))
            }
            let state = try await backend.status(of: unanswered.correlationID)
            try c.expect(
                state == .pending(attempt: 1), "publish and wait", "a wait that ran out left its request \(state)")
            try await c.answer(backend, try await c.claim(backend, rule: "G11"))
        },
    ]
}

extension ConformanceContext {
    /// The status report of `id`, checked to carry `state` and to agree with ``QueueBackend/status(of:)``.
    func report(
        _ backend: any QueueBackend, _ id: CorrelationID, expecting state: RequestState, rule: String
    ) async throws -> RequestStatusReport {
        let report = try await backend.statusReport(of: id)
        try expect(report.state == state, "status report", "\(rule): expected \(state), the report says \(report)")
        let plain = try await backend.status(of: id)
        try expect(plain == state, "status report", "\(rule): the report says \(state), status(of:) says \(plain)")
        return report
    }

    /// Checks that `time` fell between `start` and `end` (by the test's clock, give or take the timing allowance
    /// for a store whose clock differs), and returns it.
    @discardableResult
    func expectTime(_ time: Date?, _ what: String, from start: Date, to end: Date) throws -> Date {
        let allowance = timingAllowance.inSeconds
        guard let time, time >= start.addingTimeInterval(-allowance), time <= end.addingTimeInterval(allowance)
        else {
            throw ConformanceFailure(
                rule: "status report",
                "the \(what) time \(time.map { "\($0)" } ?? "is missing"); expected it between \(start) and \(end)")
        }
        return time
    }
}
