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
    public func receiveInterRegionMessage(
        _ input: Operations.ReceiveInterRegionMessage.Input
    ) async throws
        -> Operations.ReceiveInterRegionMessage.Output
    {
        guard case .json(let body) = input.body else { preconditionFailure("the contract has one body type") }
        func refused(_ refusal: InterRegionRefusal) -> Operations.ReceiveInterRegionMessage.Output {
            logger.warning("refused a message from \(Echo.quoted(body.fromRegion)): \(refusal)")
            return .badRequest(
                .init(
                    body: .applicationProblemJson(
                        Problem.make(
                            status: 400, code: refusal.code.rawValue, detail: refusal.detail
                        ))))
        }
        guard let parties else {
            return refused(InterRegionRefusal(.senderUnknown, "this node's region config names no registry of regions"))
        }
        let delivery: Delivery
        do {
            let envelope = try InterRegionEnvelope(json: [
                "from_region": body.fromRegion, "to_region": body.toRegion, "header": body.header,
                "signature": body.signature,
                "sealed": body.sealed,
            ])
            delivery = try envelope.open(as: config.region, registry: parties.registry, sealingKey: parties.sealingKey)
                .delivery(to: config.region)
        } catch {
            return refused(error)
        }
        let submission = Submission.interRegion(.delivery(delivery))
        let outcome: Outcome?
        do {
            outcome = try await front.submit([submission], timeout: syncWait).first ?? nil
        } catch {
            return .serviceUnavailable(.init(body: .applicationProblemJson(unavailable(error))))
        }
        switch outcome?.code {
        case .messageOutOfOrder?:
            let expected = (try reader.interRegionLink(delivery.message.region).lastInbound) + 1
            return .conflict(
                .init(
                    body: .applicationProblemJson(
                        Problem.make(
                            status: 409, code: OutcomeCode.messageOutOfOrder.name,
                            detail: "message \(delivery.message.number) from \(delivery.message.region) is not the next "
                                + "on its link: the next expected is \(expected); nothing was recorded"
                        ))))
        case .counterpartUnknown?, .regionMismatch?:
            return refused(
                InterRegionRefusal(.senderUnknown, "this region's ledger does not pay \(delivery.message.region)"))
        default:
            break
        }
        return try answer(for: submission.entryID, to: delivery.message.region, parties: parties)
    }

    /// This region's recorded decision on a message, sealed to its sender once final; else where it is.
    private func answer(
        for entryID: String, to sender: String, parties: InterRegionParties
    ) throws
        -> Operations.ReceiveInterRegionMessage.Output
    {
        guard let (sequence, entry) = try reader.interRegionEntry(entryID), case .incoming(let decision) = entry else {
            return .accepted(
                .init(
                    body: .json(.init(state: .queued, detail: "Queued; send the message again to learn the decision.")))
            )
        }
        let code =
            switch decision.verdict {
            case .credited: OutcomeCode.accepted.name
            case .refused(let refusal, _, _): refusal.name
            }
        guard case .found(let receipt) = try reader.receipt(kind: .interRegion, entryID: entryID),
            let counterpart = parties.registry.entry(sender)
        else {
            return .accepted(
                .init(
                    body: .json(
                        .init(
                            state: .decided,
                            detail:
                                "Decided; its block is not signed yet. Send the message again for the signed decision.",
                            code: code, sequence: sequence
                        ))))
        }
        let sealed = try InterRegionEnvelope.make(receipt: receipt, from: config.region, to: counterpart)
        return .ok(
            .init(
                body: .json(
                    .init(
                        state: .final, detail: "Decided, in a signed block of \(config.region).", code: code,
                        sequence: sequence,
                        decision: .init(
                            fromRegion: sealed.fromRegion, toRegion: sealed.toRegion,
                            header: Hex.encode(sealed.headerBytes),
                            signature: Hex.encode(sealed.blockSignature), sealed: Hex.encode(sealed.sealed))
                    ))))
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
