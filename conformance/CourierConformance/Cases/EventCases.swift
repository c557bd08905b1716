import Courier
import Foundation

/// Streamed partial responses and progress: ``QueueCapabilities/eventStreams``.
extension Conformance {
    static let eventCases: [ConformanceCase] = [
        ConformanceCase("S1", "thousandChunksInOrder", needs: .eventStreams) { c in
            let backend = try await c.backend(c.holdingConfiguration(maxEventsPerRequest: 2000))
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "S1")
            let chunks = (0..<1000).map { RequestEvent.text("token \($0) ") }
            var index = 0
            var batch = 1
            while index < chunks.count {
                let end = min(chunks.count, index + batch)
                let last = try await backend.appendEvents(Array(chunks[index..<end]), holding: delivery.lease)
                try c.expect(
                    last == UInt64(end + 1), "events: sequence",
                    "appending through chunk \(end) returned sequence \(last), expected \(end + 1)")
                index = end
                batch = batch % 7 + 1
            }
            try await c.answer(backend, delivery)
            let elements = try await c.readAll(backend, request.correlationID, rule: "S1")
            try c.expectLedger(
                elements, events: [.attemptStarted(attempt: 1)] + chunks, status: .completed, rule: "events: order")
        },
        ConformanceCase("S2", "lateReaderCatchesUp", needs: .eventStreams) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "S2")
            let chunks = (0..<10).map { RequestEvent.text("part \($0)") }
            try await backend.appendEvents(chunks, holding: delivery.lease)
            try await c.answer(backend, delivery)
            let elements = try await c.readAll(backend, request.correlationID, rule: "S2")
            try c.expectLedger(
                elements, events: [.attemptStarted(attempt: 1)] + chunks, status: .completed, rule: "events: catch-up")
        },
        ConformanceCase("S3", "resumeAfterSequence", needs: .eventStreams) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "S3")
            let chunks = (0..<20).map { RequestEvent.text("part \($0)") }
            for pair in stride(from: 0, to: 20, by: 2) {
                try await backend.appendEvents(Array(chunks[pair..<pair + 2]), holding: delivery.lease)
            }
            try await c.answer(backend, delivery)
            // Sequence 1 is the attempt boundary, so chunk k has sequence k + 2.
            let elements = try await c.readAll(backend, request.correlationID, after: 11, rule: "S3")
            try c.expectLedger(
                elements, events: Array(chunks[10...]), status: .completed, after: 11, rule: "events: resume")
        },
        ConformanceCase("S4", "liveReaderWakes", needs: .eventStreams) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "S4")
            let reader = Task { try await c.readAll(backend, request.correlationID, rule: "S4") }
            var received: [RequestEvent] = [.attemptStarted(attempt: 1)]
            for index in 0..<5 {
                try await Task.sleep(for: c.timing.scaled(c.timing.wakeBound))
                let event = RequestEvent.progress(.init(fraction: Double(index) / 4, message: "step \(index)"))
                try await backend.appendEvents([event], holding: delivery.lease)
                received.append(event)
            }
            try await c.answer(backend, delivery)
            let elements = try await c.within(
                c.timing.scaled(c.timing.wakeBound * 4 + .seconds(1)), rule: "events: live",
                "the live reader to end with the final response"
            ) { try await reader.value }
            try c.expectLedger(elements, events: received, status: .completed, rule: "events: live")
        },
        ConformanceCase("S5", "staleHolderIsFenced", needs: .eventStreams) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let request = try await c.publish(backend)
            let first = try await c.claim(backend, rule: "S5")
            try await backend.release(first.lease, retryAfter: .zero, reason: "S5")
            let second = try await c.claim(backend, rule: "S5")
            try await c.expectError(.leaseLost, "events: fencing", "an append by the holder of an old lease") {
                try await backend.appendEvents([.text("stale")], holding: first.lease)
            }
            try await backend.appendEvents([.text("current")], holding: second.lease)
            try await c.answer(backend, second)
            let elements = try await c.readAll(backend, request.correlationID, rule: "S5")
            // The stale holder appended nothing, so its delivery left no attempt boundary either.
            try c.expectLedger(
                elements, events: [.attemptStarted(attempt: 2), .text("current")], status: .completed,
                rule: "events: fencing")
        },
        ConformanceCase("S6", "appendAfterFinalRefused", needs: .eventStreams) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let answered = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "S6")
            try await c.answer(backend, delivery)
            try await c.expectError(.alreadyFinished, "events: final", "an append after the response") {
                try await backend.appendEvents([.text("late")], holding: delivery.lease)
            }
            let cancelled = try await c.publish(backend)
            let running = try await c.claim(backend, rule: "S6")
            try await backend.cancel(cancelled.correlationID)
            try await c.expectError(.requestCancelled, "events: final", "an append after a cancel") {
                try await backend.appendEvents([.text("late")], holding: running.lease)
            }
            // Neither delivery appended anything: no events at all, not even an attempt boundary.
            let elements = try await c.readAll(backend, answered.correlationID, rule: "S6")
            try c.expectLedger(elements, events: [], status: .completed, rule: "events: final")
            let cancelledElements = try await c.readAll(backend, cancelled.correlationID, rule: "S6")
            try c.expectLedger(cancelledElements, events: [], status: .cancelled, rule: "events: final")
        },
        ConformanceCase("S7", "redeliveryShowsAttemptBoundary", needs: .eventStreams) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let request = try await c.publish(backend)
            let first = try await c.claim(backend, rule: "S7")
            try await backend.appendEvents([.text("first try")], holding: first.lease)
            try await backend.release(first.lease, retryAfter: .zero, reason: "S7")
            let second = try await c.claim(backend, rule: "S7")
            try await backend.appendEvents([.text("second try")], holding: second.lease)
            try await c.answer(backend, second)
            let elements = try await c.readAll(backend, request.correlationID, rule: "S7")
            try c.expectLedger(
                elements,
                events: [
                    .attemptStarted(attempt: 1), .text("first try"), .attemptStarted(attempt: 2), .text("second try"),
                ],
                status: .completed, rule: "events: attempts")
        },
        ConformanceCase("S8", "trimmingLeavesAGapMarker", needs: .eventStreams) { c in
            let backend = try await c.backend(c.holdingConfiguration(maxEventsPerRequest: 10))
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "S8")
            let chunks = (0..<50).map { RequestEvent.text("part \($0)") }
            for chunk in chunks { try await backend.appendEvents([chunk], holding: delivery.lease) }
            try await c.answer(backend, delivery)
            let elements = try await c.readAll(backend, request.correlationID, rule: "S8")
            // 51 events (the boundary and 50 chunks), 10 kept: 1...41 trimmed.
            guard case .gap(after: 0, through: 41)? = elements.first else {
                throw ConformanceFailure(
                    rule: "events: retention",
                    "a reader from the start of a log trimmed to 10 of 51 events began with "
                        + "\(elements.first.map { "\($0)" } ?? "nothing"), expected gap(after: 0, through: 41)")
            }
            try c.expectLedger(
                Array(elements.dropFirst()), events: Array(chunks[40...]), status: .completed, after: 41,
                rule: "events: retention")
        },
        ConformanceCase("S9", "stoppedReadersReleaseEverything", needs: .eventStreams, hooks: .resourceProbe) { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let baseline = try await c.harness.openResources(of: c.unwrapped(backend))
            // Half are waits that time out, half readers cancelled while they wait.
            try await c.timedOutAndCancelledWaits(200) { ending in
                switch ending {
                case .timeout(let timeout):
                    _ = try await backend.waitForEvents(of: request.correlationID, after: 0, timeout: timeout)
                case .cancellation:
                    for try await _ in backend.events(for: request.correlationID) {}
                }
            }
            try await c.eventually(
                c.timing.scaled(.seconds(5)), "events: resources", "event readers' resources back to baseline"
            ) {
                try await c.harness.openResources(of: c.unwrapped(backend)) <= baseline
            }
        },
        ConformanceCase("S10", "eventsExpireWithTheResponse", needs: .eventStreams) { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "S10")
            try await backend.appendEvents([.text("soon gone")], holding: delivery.lease)
            // The response (and its TTL) starts between these two moments: the lower bound counts from the first.
            let storing = ContinuousClock.now
            try await c.answer(backend, delivery)
            try await c.eventually(
                backend.configuration.responseTTL + c.timingAllowance, "events: TTL",
                "the events to expire with the response"
            ) {
                try await backend.readEvents(of: request.correlationID, after: 0, limit: 10) == nil
            }
            try c.expect(
                ContinuousClock.now - storing >= backend.configuration.responseTTL - .milliseconds(100), "events: TTL",
                "the events were gone before the response's TTL")
            try await c.expectError(.notFound, "events: TTL", "reading the events of an expired request") {
                for try await _ in backend.events(for: request.correlationID) {}
            }
        },
        ConformanceCase("S11", "bytesAndNamesExact", needs: .eventStreams) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "S11")
            let events: [RequestEvent] = [
                .chunk(Data((0...255).map { UInt8($0) })), .chunk(Data()), .chunk(Data("ends with spaces \n\t ".utf8)),
                .chunk(Data(repeating: 0xA5, count: 1 << 20)),
                .custom(name: "Tool-Call ü", data: Data([0, 1, 2, 255])),
            ]
            for event in events { try await backend.appendEvents([event], holding: delivery.lease) }
            try await c.answer(backend, delivery)
            let elements = try await c.readAll(backend, request.correlationID, rule: "S11")
            try c.expectLedger(
                elements, events: [.attemptStarted(attempt: 1)] + events, status: .completed, rule: "events: bytes")
        },
        ConformanceCase("S12", "progressRoundTrips", needs: .eventStreams) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "S12")
            let events: [RequestEvent] = [
                .progress(.init(fraction: 0)), .progress(.init(fraction: 0.4, message: "validating", counter: 2)),
                .progress(.init(message: "attempt 2 of 3 — ok ✓")), .progress(.init(counter: -1)),
                .progress(.init(fraction: 1, message: "")),
            ]
            try await backend.appendEvents(events, holding: delivery.lease)
            try await c.expectError(.invalidConfiguration, "events: progress", "a progress fraction of 1.5") {
                try await backend.appendEvents([.progress(.init(fraction: 1.5))], holding: delivery.lease)
            }
            try await c.answer(backend, delivery)
            let elements = try await c.readAll(backend, request.correlationID, rule: "S12")
            try c.expectLedger(
                elements, events: [.attemptStarted(attempt: 1)] + events, status: .completed, rule: "events: progress")
        },
        ConformanceCase("S13", "thirtyTwoReaders", needs: .eventStreams) { c in
            let backend = try await c.backend(c.holdingConfiguration())
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "S13")
            let readers = (0..<32).map { _ in
                Task { try await c.readAll(backend, request.correlationID, rule: "S13") }
            }
            let chunks = (0..<100).map { RequestEvent.text("token \($0)") }
            for batch in stride(from: 0, to: 100, by: 10) {
                try await backend.appendEvents(Array(chunks[batch..<batch + 10]), holding: delivery.lease)
            }
            try await c.answer(backend, delivery)
            for reader in readers {
                try c.expectLedger(
                    try await reader.value, events: [.attemptStarted(attempt: 1)] + chunks, status: .completed,
                    rule: "events: readers")
            }
        },
        ConformanceCase("S14", "waitForEventsTimesOut", needs: .eventStreams) { c in
            let backend = try await c.backend()
            let request = try await c.publish(backend)
            let delivery = try await c.claim(backend, rule: "S14")
            let timeout = c.timing.scaled(c.timing.wakeBound * 2)
            // The attempt boundary and one chunk: sequence numbers 1 and 2.
            let last = try await backend.appendEvents([.text("x")], holding: delivery.lease)
            try c.expect(last == 2, "events: sequence", "the first append of a delivery returned \(last), expected 2")
            let started = ContinuousClock.now
            let woke = try await backend.waitForEvents(of: request.correlationID, after: 2, timeout: timeout)
            let waited = ContinuousClock.now - started
            try c.expect(!woke, "events: wait", "a wait with nothing new said there was something to read")
            try c.expect(waited >= timeout * 0.9, "events: wait", "the wait ended after \(waited), before \(timeout)")
            try c.expect(
                try await backend.waitForEvents(of: request.correlationID, after: 0, timeout: timeout), "events: wait",
                "a wait after sequence 0 did not see the events already stored at once")
            try await c.answer(backend, delivery)
            try c.expect(
                try await backend.waitForEvents(of: request.correlationID, after: 2, timeout: timeout), "events: wait",
                "a wait on a finished request did not return at once")
        },
        ConformanceCase("S16", "readersRaceTheAnswer", needs: .eventStreams) { c in
            // Readers that start while their request is being answered must see it as running or answered, never
            // as unknown: a page is one consistent view.
            let configuration = c.holdingConfiguration()
            let backend = try await c.backend(configuration)
            // Readers on another instance where instances share a store, as a client process would read.
            let readerBackend =
                backend.capabilities.contains(.shared) ? try await c.backend(configuration) : backend
            let requests = try await (0..<200).asyncMap { index in try await c.publish(backend, "race \(index)") }
            // Each reader reads pages as fast as it can until the final response: many reads straddle the answer.
            let readers = requests.map { request in
                Task { () -> RequestEventPage in
                    while true {
                        guard
                            let page = try await readerBackend.readEvents(
                                of: request.correlationID, after: 0, limit: 10)
                        else {
                            throw ConformanceFailure(
                                rule: "events: consistency",
                                "\(request.correlationID) read as unknown while it was being answered")
                        }
                        if page.finalResponse != nil { return page }
                        await Task.yield()
                    }
                }
            }
            for _ in requests {
                let delivery = try await c.claim(backend, rule: "S16")
                try await backend.appendEvents([.text("partial")], holding: delivery.lease)
                try await c.answer(backend, delivery)
            }
            for reader in readers {
                let page = try await c.within(
                    c.timing.scaled(.seconds(10)), rule: "events: consistency", "a reader to see the final response"
                ) { try await reader.value }
                try c.expect(
                    page.events.map(\.event) == [.attemptStarted(attempt: 1), .text("partial")]
                        && page.lastSequence == 2 && page.finalResponse?.status == .completed,
                    "events: consistency", "a final page did not hold the request's events: \(page)")
            }
        },
        ConformanceCase("S15", "unknownRequestHasNoEvents", needs: .eventStreams) { c in
            let backend = try await c.backend()
            let unknown = CorrelationID.generate()
            try c.expect(
                try await backend.readEvents(of: unknown, after: 0, limit: 10) == nil, "events: unknown",
                "readEvents returned a page for an id never published")
            try await c.expectError(.notFound, "events: unknown", "reading the events of an unknown id") {
                for try await _ in backend.events(for: unknown) {}
            }
            try await c.expectError(.leaseLost, "events: unknown", "appending with a lease on an unknown id") {
                let lease = Lease(correlationID: unknown, attempt: 1, token: "1", expiresAt: Date())
                try await backend.appendEvents([.text("x")], holding: lease)
            }
        },
        ConformanceCase("S17", "anyPositionIsSafe", needs: .eventStreams) { c in
            // A reader may resume from any number a client sends, however large: past the end is an empty page.
            let backend = try await c.backend(c.holdingConfiguration())
            for streams in [false, true] {
                let request = try await c.publish(backend)
                let delivery = try await c.claim(backend, rule: "S17")
                if streams { try await backend.appendEvents([.text("a"), .text("b")], holding: delivery.lease) }
                for position in [3, UInt64(Int64.max), UInt64.max - 1, UInt64.max] {
                    let page = try await backend.readEvents(of: request.correlationID, after: position, limit: 10)
                    try c.expect(
                        page?.events.isEmpty == true, "events: positions",
                        "reading after \(position) returned \(String(describing: page))")
                    let woke = try await backend.waitForEvents(
                        of: request.correlationID, after: position, timeout: .milliseconds(10))
                    try c.expect(!woke, "events: positions", "a wait after \(position) woke with nothing new")
                }
                try await c.answer(backend, delivery)
                let elements = try await c.readAll(backend, request.correlationID, after: .max, rule: "S17")
                try c.expect(
                    elements.count == 1, "events: positions", "a reader after the end got \(elements), not the final")
            }
        },
    ]
}
