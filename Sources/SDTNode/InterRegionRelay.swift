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
    /// Messages looked at per pass.
    static let passLimit = 256

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

    /// Sends the final ones of `messages` in order until one cannot go; records each decision.
    private func deliver(_ messages: [OpenOutbound], to counterpart: String) async -> Pass {
        guard let client = clients[counterpart], let entry = parties.registry.entry(counterpart) else {
            logger.error("outbound messages to \(counterpart), which is not in the registry: they wait")
            return .failed
        }
        var result = Pass.waiting
        for open in messages {
            guard open.isFinal else { break }
            do {
                guard
                    case .found(let receipt) = try reader.receipt(
                        kind: .interRegion, entryID: "outbound:\(counterpart):\(open.number)"),
                    case .outbound(let message) = try InterRegionEntry(recordedBytes: receipt.signingBytes)
                else { break }
                let envelope = try InterRegionEnvelope.make(receipt: receipt, from: parties.region, to: entry)
                let output = try await client.client.receiveInterRegionMessage(
                    body: .json(
                        .init(
                            fromRegion: envelope.fromRegion, toRegion: envelope.toRegion,
                            header: Hex.encode(envelope.headerBytes),
                            signature: Hex.encode(envelope.blockSignature), sealed: Hex.encode(envelope.sealed)
                        )))
                switch output {
                case .ok(let ok):
                    guard case .json(let answer) = ok.body, let decision = answer.decision else { return .failed }
                    try await acknowledge(decision, of: message)
                    result = .progressed
                case .accepted:
                    // Decided or queued there; later messages may go on, and this one is asked again next pass.
                    continue
                case .conflict(let conflict):
                    logger.warning(
                        "\(counterpart) refuses outbound message \(open.number) as out of order: \(conflict)")
                    return .failed
                default:
                    logger.error(
                        "\(counterpart) refused outbound message \(open.number): \(NodeClient.failure(output))")
                    return .failed
                }
            } catch {
                logger.warning("delivering outbound message \(open.number) to \(counterpart): \(error)")
                return .failed
            }
        }
        return result
    }

    /// Checks the counterpart's signed decision and submits it as an acknowledgement to the applier.
    private func acknowledge(_ body: Components.Schemas.InterRegionMessage, of message: OutboundMessage) async throws {
        let envelope = try InterRegionEnvelope(json: [
            "from_region": body.fromRegion, "to_region": body.toRegion, "header": body.header,
            "signature": body.signature,
            "sealed": body.sealed,
        ])
        let acknowledgement = try envelope.open(
            as: parties.region, registry: parties.registry, sealingKey: parties.sealingKey
        )
        .acknowledgement(of: message)
        let outcome =
            try await front.submit([.interRegion(.acknowledgement(acknowledgement))], timeout: .seconds(5)).first ?? nil
        if let outcome, outcome.code != .accepted {
            let refusal = "the acknowledgement of outbound message \(message.number) to \(message.counterpart) was refused"
            logger.error("\(refusal): \(outcome.code.name)")
        }
    }
}
