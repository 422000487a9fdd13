import Foundation
import SDTCore
import SDTCrypto

/// The refresh and the replacement run online, like the DKG: every participant runs its side at the
/// same time and they exchange messages over a `CeremonyChannel`.
public enum OnlineResharing {
    /// One custodian's side of a proactive refresh. Returns the next transcript (same region key,
    /// signed by every custodian) and this custodian's new share file. `progress` hears how many of the
    /// peers' messages (a contribution and a signature from each) have arrived, of how many.
    public static func refresh(
        current: CeremonyTranscript, shareFile: CustodianShareFile, identity: SigningKey, passphrase: String,
        channel: CeremonyChannel, progress: ((_ received: Int, _ expected: Int) -> Void)? = nil
    ) throws -> (CeremonyTranscript, CustodianShareFile) {
        let expected = 2 * (current.custodians.count - 1)
        if let progress { channel.onReceive = { progress($0, expected) } }
        var share = try shareFile.open(passphrase: passphrase, transcript: current)
        defer { share.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        let mine = try ProactiveRefresh.contribute(from: shareFile.identifier, transcript: current)
        try channel.broadcast(1, mine)
        let contributions = [mine] + (try channel.collect(1, ProactiveRefresh.Contribution.self, count: current.custodians.count - 1))
        let next = try ProactiveRefresh.nextTranscript(current, contributions: contributions)
        let (file, signature) = try ProactiveRefresh.accept(share: share, identity: identity, current: current, next: next,
                                                            contributions: contributions, passphrase: passphrase)
        let signed = try channel.signTogether(next, me: shareFile.identifier, signature: signature, round: 2,
                                              peers: current.custodians.count - 1)
        return (signed, file)
    }

    /// What a helper sends the newcomer: its blinded part, sealed to the newcomer.
    struct Answer: Codable {
        var from: Int
        var part: String
    }

    /// One participant's side of replacing custodian `target`: every remaining custodian passes
    /// `shareFile`; the newcomer passes nil. The helpers (`CustodianReplacement.helpers`) send their
    /// parts; every participant signs. Returns the next transcript (signed by all of them) and the
    /// participant's share file for it. `progress` hears how many of the peers' messages have arrived,
    /// of how many: each helper's opening and part (to everyone), and every participant's signature.
    public static func replace(
        current: CeremonyTranscript, target: Int, newName: String, newIdentityKey: [UInt8], me: Int, shareFile: CustodianShareFile?,
        identity: SigningKey, passphrase: String, channel: CeremonyChannel,
        progress: ((_ received: Int, _ expected: Int) -> Void)? = nil
    ) throws -> (CeremonyTranscript, CustodianShareFile) {
        let next = try CustodianReplacement.nextTranscript(current, replacing: target, name: newName, identityKey: newIdentityKey)
        let helpers = CustodianReplacement.helpers(replacing: target, in: current)
        let otherHelpers = helpers.filter { $0 != me }.count
        let expected = 2 * otherHelpers + current.custodians.count - 1
        if let progress { channel.onReceive = { progress($0, expected) } }
        let (file, signature): (CustodianShareFile, [UInt8])
        if me == target {
            let answers = try channel.collect(2, Answer.self, count: helpers.count)
            (file, signature) = try CustodianReplacement.finish(
                identity: identity, target: target, parts: answers.sorted { $0.from < $1.from }.map(\.part),
                next: next, passphrase: passphrase)
        } else {
            guard let shareFile, current.custodians.contains(where: { $0.identifier == me }) else {
                throw CryptoError("a remaining custodian needs its share file")
            }
            var share = try shareFile.open(passphrase: passphrase, transcript: current)
            defer { share.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
            if helpers.contains(me) {
                let (opening, drawn) = try CustodianReplacement.open(identifier: me, target: target, next: next)
                try channel.broadcast(1, opening)
                let openings = try channel.collect(1, CustodianReplacement.Opening.self, count: helpers.count - 1)
                let part = try CustodianReplacement.part(
                    share: share, identifier: me, identity: identity, drawn: drawn, openings: openings, target: target,
                    next: next)
                try channel.broadcast(2, Answer(from: me, part: part))
            }
            (file, signature) = try CustodianShareFile.make(share: share, identifier: me, transcript: next, identity: identity, passphrase: passphrase)
        }
        let signed = try channel.signTogether(
            next, me: me, signature: signature, round: 3, peers: current.custodians.count - 1)
        return (signed, file)
    }
}
