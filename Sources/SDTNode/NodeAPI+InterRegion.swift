import Foundation
import OpenAPIRuntime
import SDTAPI
import SDTCore
import SDTCrypto
import SDTLedger

/// What a node of a region in a registry needs to pay and be paid by the others: the verified
/// registry and this node's X25519 sealing key.
public struct InterRegionParties: Sendable {
    public let region: String
    public let registry: RegionRegistry
    public let sealingKey: SealingKey

    public init(region: String, registry: RegionRegistry, sealingKey: SealingKey) {
        self.region = region
        self.registry = registry
        self.sealingKey = sealingKey
    }

    /// The other regions of the registry.
    public var counterparts: Set<String> { Set(registry.entries.map(\.code)).subtracting([region]) }
}

extension NodeAPI {
    typealias InterRegionAnswer = Components.Schemas.InterRegionAnswer

    public func receiveInterRegionMessages(
        _ input: Operations.ReceiveInterRegionMessages.Input
    ) async throws -> Operations.ReceiveInterRegionMessages.Output {
        guard case .json(let body) = input.body else { preconditionFailure("the contract has one body type") }
        var answers = [InterRegionAnswer?](repeating: nil, count: body.messages.count)
        var deliveries: [(index: Int, delivery: Delivery)] = []
        let verified = VerifiedHeaders()
        for (index, message) in body.messages.enumerated() {
            do throws(InterRegionRefusal) {
                guard let parties else {
                    throw InterRegionRefusal(.senderUnknown, "this node's region config names no registry of regions")
                }
                let envelope = try InterRegionEnvelope(message)
                let opened = try envelope.open(
                    as: config.region, registry: parties.registry, sealingKey: parties.sealingKey, verified: verified)
                deliveries.append((index, try opened.delivery(to: config.region)))
            } catch {
                logger.warning("refused a message from \(Echo.quoted(message.fromRegion)): \(error)")
                answers[index] = .init(state: .refused, detail: error.detail, code: error.code.rawValue)
            }
        }
        let outcomes: [Outcome?]
        do {
            outcomes =
                deliveries.isEmpty
                ? []
                : try await front.submit(deliveries.map { .interRegion(.delivery($0.delivery)) }, timeout: syncWait)
        } catch {
            return .serviceUnavailable(.init(body: .applicationProblemJson(unavailable(error))))
        }
        let receipts = try reader.interRegionReceipts(deliveries.map { InterRegionEntry.delivery($0.delivery).entryID })
        for ((index, delivery), outcome) in zip(deliveries, outcomes) {
            answers[index] = try answer(delivery, outcome, receipts: receipts)
        }
        return .ok(.init(body: .json(.init(answers: answers.map { $0! }))))
    }

    /// The answer to one delivery the ledger was asked about: its recorded decision, sealed to the sender
    /// once final; else where it stands.
    private func answer(
        _ delivery: Delivery, _ outcome: Outcome?, receipts: [String: ReceiptRecord]
    ) throws -> InterRegionAnswer {
        let (sender, number) = (delivery.message.region, delivery.message.number)
        switch outcome?.code {
        case .messageOutOfOrder?:
            let expected = (try reader.interRegionLink(sender).lastInbound) + 1
            return .init(
                state: .outOfOrder,
                detail:
                    "message \(number) from \(sender) is not the next on its link: the next expected is \(expected); "
                    + "nothing was recorded",
                number: number, code: OutcomeCode.messageOutOfOrder.name)
        case .counterpartUnknown?, .regionMismatch?:
            return .init(
                state: .refused, detail: "this region's ledger does not pay \(sender)", number: number,
                code: InterRegionRefusal.Code.senderUnknown.rawValue)
        default:
            break
        }
        let entryID = InterRegionEntry.delivery(delivery).entryID
        guard let (sequence, entry) = try reader.interRegionEntry(entryID), case .incoming(let decision) = entry else {
            return .init(
                state: .queued, detail: "Queued; send the message again to learn the decision.", number: number)
        }
        let code =
            switch decision.verdict {
            case .credited: OutcomeCode.accepted.name
            case .refused(let refusal, _, _): refusal.name
            }
        guard let receipt = receipts[entryID], let counterpart = parties?.registry.entry(sender)
        else {
            return .init(
                state: .decided,
                detail: "Decided; its block is not signed yet. Send the message again for the signed decision.",
                number: number, code: code, sequence: sequence)
        }
        let sealed = try InterRegionEnvelope.make(receipt: receipt, from: config.region, to: counterpart)
        return .init(
            state: .final, detail: "Decided, in a signed block of \(config.region).", number: number, code: code,
            sequence: sequence, decision: sealed.message)
    }

    public func getInterRegionPositions(
        _ input: Operations.GetInterRegionPositions.Input
    ) async throws
        -> Operations.GetInterRegionPositions.Output
    {
        let positions = try reader.positions().map { record in
            Components.Schemas.InterRegionPositions.PositionsPayloadPayload(
                counterpart: record.counterpart, token: .init(rawValue: record.token.rawValue)!,
                inFlight: record.inFlight,
                claims: record.claims, obligations: record.obligations, outboundMessages: record.outboundMessages,
                outboundOpen: record.outboundOpen, inboundDecided: record.inboundDecided
            )
        }
        return .ok(.init(body: .json(.init(region: config.region, positions: positions))))
    }
}
