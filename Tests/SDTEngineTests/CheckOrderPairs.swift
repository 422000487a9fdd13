import SDTCore

/// One way to break one check: which parts of the entry it changes, and how. `late` changes are made
/// after the others because they read what the others set (a receiver made equal to the sender, say).
struct Breaking<Spec> {
    let fields: Set<String>
    var late = false
    let change: (inout Spec) -> Void
}

/// A check, and the ways to make an entry fail it.
struct Breaker<Spec> {
    let code: OutcomeCode
    let ways: [Breaking<Spec>]

    init(_ code: OutcomeCode, _ ways: Breaking<Spec>...) {
        self.code = code
        self.ways = ways
    }
}

/// For every pair of checks in documented order, an entry that fails both (made from two ways that
/// change different parts) must be refused with the earlier one's code.
struct CheckOrderPairs<Spec> {
    let breakers: [Breaker<Spec>]
    let base: Spec

    struct Result {
        var tested: [(OutcomeCode, OutcomeCode)] = []
        /// Pairs no two ways can break together (they change the same part).
        var notComposable: [(OutcomeCode, OutcomeCode)] = []
        var wrongWinner: [String] = []
    }

    func run(_ submit: (Spec) throws -> OutcomeCode) rethrows -> Result {
        var result = Result()
        for (index, earlier) in breakers.enumerated() {
            for later in breakers[(index + 1)...] {
                let pair = earlier.ways.lazy.flatMap { first in later.ways.lazy.map { (first, $0) } }
                    .first { $0.0.fields.isDisjoint(with: $0.1.fields) }
                guard let (first, second) = pair else {
                    result.notComposable.append((earlier.code, later.code))
                    continue
                }
                var spec = base
                for way in [first, second].sorted(by: { !$0.late && $1.late }) { way.change(&spec) }
                let code = try submit(spec)
                result.tested.append((earlier.code, later.code))
                if code != earlier.code {
                    result.wrongWinner.append("\(earlier.code.name) + \(later.code.name) answered \(code.name)")
                }
            }
        }
        return result
    }
}
