import Foundation
import Logging
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTLedger
import ServiceLifecycle

/// Delivers this region's outbound messages to their regions and records their decisions. The outbox
/// is the ledger: every outbound message not yet acknowledged, once its block is signed, is sent to the
/// counterpart's endpoint (in number order, at least once; the counterpart applies each once); the
/// signed decision that comes back is checked and submitted as an acknowledgement. Nothing is kept in
/// memory but the backoff, so a restart of either side loses nothing: the next pass sends again.
public final class InterRegionRelay: Service, Sendable {
    let parties: InterRegionParties
    let reader: LedgerReader
    let front: QueueFront
    let logger: Logger
    let clients: [String: NodeClient]

    /// Pause between passes when there was nothing to do, and the longest backoff after failures.
    static let idleMilliseconds: UInt64 = 100
    static let backoffMillisecondsMax: Int64 = 5_000
    /// Messages looked at per pass, and sent in one request.
    static let passLimit = 4_096
    static let requestMessagesMax = 256

    public init(parties: InterRegionParties, reader: LedgerReader, front: QueueFront, logger: Logger) throws {
        self.parties = parties
        self.reader = reader
        self.front = front
        self.logger = logger
        var clients: [String: NodeClient] = [:]
        for entry in parties.registry.entries where entry.code != parties.region {
            clients[entry.code] = try NodeClient(baseURL: entry.endpoint)
        }
        self.clients = clients
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.relayUntilCancelled() }
    }

    private func relayUntilCancelled() async {
        var backoff: [String: (untilMilliseconds: Int64, delay: Int64)] = [:]
        while !Task.isCancelled {
            var progressed = false
            let open = (try? reader.openOutbound(limit: Self.passLimit)) ?? []
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for (counterpart, messages) in Dictionary(grouping: open, by: \.counterpart) {
                if let wait = backoff[counterpart], wait.untilMilliseconds > now { continue }
                switch await deliver(messages.sorted { $0.number < $1.number }, to: counterpart) {
                case .progressed:
                    progressed = true
                    backoff[counterpart] = nil
                case .waiting:
                    backoff[counterpart] = nil
                case .failed:
                    let delay = min(Self.backoffMillisecondsMax, (backoff[counterpart]?.delay ?? 100) * 2)
                    backoff[counterpart] = (now + delay, delay)
                }
            }
            if !progressed { try? await Task.sleep(nanoseconds: Self.idleMilliseconds * 1_000_000) }
        }
    }

    enum Pass {
        case progressed
        /// Sent, but the counterpart has not signed its decision yet, or our block is not signed yet.
        case waiting
        case failed
    }

    /// Sends the final ones of `messages` in order, in requests of `requestMessagesMax`.
    private func deliver(_ messages: [OpenOutbound], to counterpart: String) async -> Pass {
        var result = Pass.waiting
        var rest = messages[...]
        while !rest.isEmpty {
            let chunk = Array(rest.prefix(Self.requestMessagesMax))
            rest = rest.dropFirst(chunk.count)
            switch await deliverChunk(chunk, to: counterpart) {
            case .progressed: result = .progressed
            case .waiting: break
            case .failed: return .failed
            }
            // A message whose block is not signed yet stops the ones after it.
            if !chunk.allSatisfy(\.isFinal) { break }
        }
        return result
    }

    /// Sends the final ones of `messages`, in order and in one request, and records every decision that
    /// comes back signed as an acknowledgement, all in one batch.
    private func deliverChunk(_ messages: [OpenOutbound], to counterpart: String) async -> Pass {
        guard let client = clients[counterpart], let entry = parties.registry.entry(counterpart) else {
            logger.error("outbound messages to \(counterpart), which is not in the registry: they wait")
            return .failed
        }
        var sent: [(message: OutboundMessage, envelope: InterRegionEnvelope)] = []
        do {
            // Messages go in number order: one whose block is not signed yet stops the rest.
            let final = messages.prefix { $0.isFinal }
            let receipts = try reader.interRegionReceipts(final.map { "outbound:\(counterpart):\($0.number)" })
            for open in final {
                guard let receipt = receipts["outbound:\(counterpart):\(open.number)"],
                    case .outbound(let message) = try InterRegionEntry(recordedBytes: receipt.signingBytes)
                else { break }
                sent.append((message, try InterRegionEnvelope.make(receipt: receipt, from: parties.region, to: entry)))
            }
        } catch {
            logger.error("reading outbound messages to \(counterpart): \(error)")
            return .failed
        }
        guard !sent.isEmpty else { return .waiting }
        let answers: [Components.Schemas.InterRegionAnswer]
        do {
            let output = try await client.client.receiveInterRegionMessages(
                body: .json(.init(messages: sent.map(\.envelope.message))))
            guard case .ok(let ok) = output, case .json(let body) = ok.body, body.answers.count == sent.count else {
                logger.warning("\(counterpart) did not take \(sent.count) message(s): \(NodeClient.failure(output))")
                return .failed
            }
            answers = body.answers
        } catch {
            logger.warning("delivering \(sent.count) message(s) to \(counterpart): \(error)")
            return .failed
        }
        var acknowledgements: [Submission] = []
        var failed = false
        let verified = VerifiedHeaders()
        for ((message, _), answer) in zip(sent, answers) {
            switch answer.state {
            case .final:
                do {
                    guard let decision = answer.decision else {
                        throw InterRegionRefusal(.malformed, "a final answer without its decision")
                    }
                    let opened = try InterRegionEnvelope(decision).open(
                        as: parties.region, registry: parties.registry, sealingKey: parties.sealingKey,
                        verified: verified)
                    acknowledgements.append(.interRegion(.acknowledgement(try opened.acknowledgement(of: message))))
                } catch {
                    logger.error("\(counterpart)'s decision on outbound message \(message.number) is refused: \(error)")
                    failed = true
                }
            case .decided, .queued:
                continue
            case .outOfOrder, .refused:
                let code = answer.code ?? ""
                logger.error("\(counterpart) answers outbound message \(message.number) with \(code): \(answer.detail)")
                failed = true
            }
        }
        guard !acknowledgements.isEmpty else { return failed ? .failed : .waiting }
        do {
            let outcomes = try await front.submit(acknowledgements, timeout: .seconds(5))
            for case let outcome? in outcomes where outcome.code != .accepted {
                logger.error("the acknowledgement \(outcome.entryID) was refused: \(outcome.code.name)")
            }
        } catch {
            logger.warning("recording \(acknowledgements.count) acknowledgement(s) from \(counterpart): \(error)")
            return .failed
        }
        return .progressed
    }
}
