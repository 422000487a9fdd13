import SDTCore
import SDTCrypto
import SDTGlobal
import SDTTesting
import Testing

struct NettingTests {
    static func owe(_ payer: String, _ payee: String, _ amount: Int64, _ token: Token = .usd) -> Obligation {
        Obligation(payer: payer, payee: payee, token: token, amount: amount)
    }

    @Test func aWorkedExampleNetsToTwoInstructions() throws {
        // us-tx owes us-wy 10.00, us-wy owes us-tx 6.00 and us-ca 3.00, us-ca owes us-tx 2.00 (USD cents).
        let result = try MultilateralNetting.net([
            Self.owe("us-tx", "us-wy", 1_000), Self.owe("us-wy", "us-tx", 600), Self.owe("us-wy", "us-ca", 300),
            Self.owe("us-ca", "us-tx", 200),
        ])
        // Positions: us-tx -1000 + 600 + 200 = -200; us-wy +1000 - 600 - 300 = +100; us-ca +300 - 200 = +100.
        #expect(result.positions[.usd] == ["us-tx": -200, "us-wy": 100, "us-ca": 100])
        #expect(result.instructions == [Self.owe("us-tx", "us-ca", 100), Self.owe("us-tx", "us-wy", 100)])
        #expect(result.gross[.usd] == 2_100 && result.net[.usd] == 200)
        #expect(result.efficiency(.usd).description == "10.50:1")
        // (2100 - 200) / 2100 = 90.476...%, toward zero.
        #expect(result.efficiency(.usd).liquiditySaved == "90.47%")
        #expect(result.efficiency(.gold).description == "no obligations")
        #expect(result.efficiency(.gold).liquiditySaved == "-")
    }

    @Test func aCycleOfDebtsCancelsToNothing() throws {
        let result = try MultilateralNetting.net([
            Self.owe("us-tx", "us-wy", 500, .gold), Self.owe("us-wy", "us-ca", 500, .gold),
            Self.owe("us-ca", "us-tx", 500, .gold),
        ])
        #expect(result.instructions.isEmpty)
        #expect(result.gross[.gold] == 1_500 && result.net[.gold] == 0)
        #expect(result.efficiency(.gold).description == "all offset")
        #expect(result.efficiency(.gold).liquiditySaved == "100.00%")
    }

    @Test func badObligationsAreRefused() {
        #expect(throws: NettingError.self) { try MultilateralNetting.net([Self.owe("us-tx", "us-wy", 0)]) }
        #expect(throws: NettingError.self) { try MultilateralNetting.net([Self.owe("us-tx", "us-tx", 5)]) }
    }

    /// Random obligations among up to 12 regions, in both tokens: the instructions settle every position
    /// exactly, no region pays and receives in one token, there are at most payers + payees - 1 per
    /// token, and the result does not depend on the order the obligations came in.
    @Test(arguments: 0..<40) func nettingSettlesEveryPositionWhateverTheOrder(seed: UInt64) throws {
        let random = SeededRandom(seed: 1_000 + seed)
        let regions = (0..<(2 + Int(random.next() % 11))).map { "r-\(Character(UnicodeScalar(97 + $0)!))" }
        var obligations: [Obligation] = []
        for _ in 0..<(1 + random.next() % 200) {
            let payer = regions[Int(random.next() % UInt64(regions.count))]
            var payee = regions[Int(random.next() % UInt64(regions.count))]
            if payee == payer { payee = regions[(regions.firstIndex(of: payer)! + 1) % regions.count] }
            let token: Token = random.next() % 2 == 0 ? .usd : .gold
            obligations.append(Self.owe(payer, payee, Int64(1 + random.next() % 1_000_000), token))
        }
        let result = try MultilateralNetting.net(obligations)
        var shuffled = obligations
        for index in shuffled.indices.reversed() {
            shuffled.swapAt(index, Int(random.next() % UInt64(index + 1)))
        }
        #expect(try MultilateralNetting.net(shuffled) == result)
        for token in Token.allCases {
            let positions = result.positions[token] ?? [:]
            #expect(positions.values.reduce(0, +) == 0)
            var remaining = positions
            let mine = result.instructions.filter { $0.token == token }
            for instruction in mine {
                #expect(instruction.amount > 0)
                remaining[instruction.payer, default: 0] += Int128(instruction.amount)
                remaining[instruction.payee, default: 0] -= Int128(instruction.amount)
            }
            #expect(remaining.values.allSatisfy { $0 == 0 })
            #expect(Set(mine.map(\.payer)).isDisjoint(with: mine.map(\.payee)))
            #expect(mine.count <= max(0, positions.count - 1))
            let gross = obligations.filter { $0.token == token }.reduce(Int128(0)) { $0 + Int128($1.amount) }
            #expect(result.gross[token] == gross)
            #expect(result.net[token]! <= gross)
            #expect(result.net[token] == positions.values.filter { $0 > 0 }.reduce(0, +))
        }
    }
}

struct SettlementCycleTests {
    /// us-tx, us-wy and us-ca after payments in every direction. us-ca's newest block predates one
    /// 1.00 USD credit from us-wy, so us-wy acknowledges owing 3.00 while us-ca claims only 2.00.
    static func chains() -> (tx: Checkpoint, wy: Checkpoint, ca: Checkpoint) {
        var tx = RegionChain("us-tx", keyByte: 1)
        var wy = RegionChain("us-wy", keyByte: 2)
        var ca = RegionChain("us-ca", keyByte: 3)
        let txHead = tx.next(
            claims: ["us-wy": [.usd: 600], "us-ca": [.usd: 200]], obligations: ["us-wy": [.usd: 1_000]])
        let wyHead = wy.next(
            claims: ["us-tx": [.usd: 1_000]], obligations: ["us-tx": [.usd: 600], "us-ca": [.usd: 300]])
        let caHead = ca.next(claims: ["us-wy": [.usd: 200]], obligations: ["us-tx": [.usd: 200]])
        return (txHead, wyHead, caHead)
    }

    @Test func aCycleSettlesWhatBothSidesSignedAndDefersTheRest() throws {
        let (tx, wy, ca) = Self.chains()
        let cycle = try SettlementCycle.plan(number: 1, checkpoints: [tx, wy, ca], halted: [])
        #expect(
            cycle.covered == [
                NettingTests.owe("us-ca", "us-tx", 200), NettingTests.owe("us-tx", "us-wy", 1_000),
                NettingTests.owe("us-wy", "us-ca", 200), NettingTests.owe("us-wy", "us-tx", 600),
            ])
        #expect(cycle.deferred.map(\.obligation) == [NettingTests.owe("us-wy", "us-ca", 100)])
        #expect(cycle.deferred.first?.reason.contains("us-ca's block 1 confirms a claim of 200") == true)
        // Positions: us-tx -1000 + 600 + 200 = -200; us-wy +1000 - 600 - 200 = +200; us-ca +200 - 200 = 0.
        #expect(cycle.result.instructions == [NettingTests.owe("us-tx", "us-wy", 200)])
        #expect(cycle.result.efficiency(.usd).description == "10.00:1")
        // Each region's reserve movement is what it is owed less what it owes, over what was covered.
        var total: Int128 = 0
        for region in ["us-tx", "us-wy", "us-ca"] {
            let owedTo = cycle.covered.filter { $0.payee == region }.reduce(Int128(0)) { $0 + Int128($1.amount) }
            let owes = cycle.covered.filter { $0.payer == region }.reduce(Int128(0)) { $0 + Int128($1.amount) }
            let change = cycle.share(of: region).reserveChange[.usd] ?? 0
            #expect(change == owedTo - owes)
            total += change
        }
        #expect(total == 0)
    }

    @Test func theSameCheckpointsGiveTheSameRecordByteForByte() throws {
        let (tx, wy, ca) = Self.chains()
        let one = try SettlementCycle.plan(number: 7, checkpoints: [tx, wy, ca], halted: [])
        let two = try SettlementCycle.plan(number: 7, checkpoints: [ca, tx, wy], halted: [])
        #expect(one.signingBytes == two.signingBytes)
        let text = String(decoding: one.signingBytes, as: UTF8.self)
        #expect(
            text == """
                SDT-SETTLEMENT-CYCLE-V1
                cycle:7
                basis:us-ca@1:\(ca.hashHex),us-tx@1:\(tx.hashHex),us-wy@1:\(wy.hashHex)
                covered:us-ca>us-tx/USD=200,us-tx>us-wy/USD=1000,us-wy>us-ca/USD=200,us-wy>us-tx/USD=600
                instructions:us-tx>us-wy/USD=200
                gross:GOLD=0,USD=2000
                net:GOLD=0,USD=200

                """)
    }

    @Test func aHaltedRegionTakesNoPart() throws {
        let (tx, wy, ca) = Self.chains()
        let cycle = try SettlementCycle.plan(number: 1, checkpoints: [tx, wy, ca], halted: ["us-wy"])
        #expect(cycle.covered == [NettingTests.owe("us-ca", "us-tx", 200)])
        #expect(cycle.covered.allSatisfy { $0.payer != "us-wy" && $0.payee != "us-wy" })
        #expect(Set(cycle.deferred.map(\.obligation.payer)) == ["us-tx", "us-wy"])
        #expect(cycle.deferred.allSatisfy { $0.reason.contains("us-wy is stopped by an equivocation alarm") })
        #expect(cycle.result.instructions == [NettingTests.owe("us-ca", "us-tx", 200)])
    }

    @Test func whatAnEarlierCycleCoversIsNeverSettledAgain() throws {
        let (tx, wy, ca) = Self.chains()
        let first = try SettlementCycle.plan(number: 1, checkpoints: [tx, wy, ca], halted: [])
        // The same checkpoints again: everything is in cycle 1 but the 1.00 us-ca has not confirmed.
        let second = try SettlementCycle.plan(number: 2, checkpoints: [tx, wy, ca], halted: [], planned: first.covered)
        #expect(second.covered.isEmpty && second.result.instructions.isEmpty)
        #expect(second.deferred.map(\.obligation) == [NettingTests.owe("us-wy", "us-ca", 100)])
        #expect(second.deferred.first?.reason.contains("200 of it in an earlier cycle") == true, "\(second.deferred)")
        // us-ca's next block confirms the last 1.00 and us-tx owes us-wy 5.00 more: only those are new.
        var caChain = RegionChain("us-ca", keyByte: 3)
        _ = caChain.next(claims: ["us-wy": [.usd: 200]], obligations: ["us-tx": [.usd: 200]])
        let caLater = caChain.next(claims: ["us-wy": [.usd: 300]], obligations: ["us-tx": [.usd: 200]])
        var txChain = RegionChain("us-tx", keyByte: 1)
        let txLater = txChain.next(
            claims: ["us-wy": [.usd: 600], "us-ca": [.usd: 200]], obligations: ["us-wy": [.usd: 1_500]])
        var wyChain = RegionChain("us-wy", keyByte: 2)
        let wyLater = wyChain.next(
            claims: ["us-tx": [.usd: 1_500]], obligations: ["us-tx": [.usd: 600], "us-ca": [.usd: 300]])
        let third = try SettlementCycle.plan(
            number: 3, checkpoints: [txLater, wyLater, caLater], halted: [], planned: first.covered)
        #expect(third.covered == [NettingTests.owe("us-tx", "us-wy", 500), NettingTests.owe("us-wy", "us-ca", 100)])
        #expect(third.deferred.isEmpty)
    }

    @Test func aCounterpartWithoutACheckpointIsWaitedFor() throws {
        let (tx, wy, _) = Self.chains()
        let cycle = try SettlementCycle.plan(number: 1, checkpoints: [tx, wy], halted: [])
        #expect(cycle.deferred.map(\.obligation) == [NettingTests.owe("us-wy", "us-ca", 300)])
        #expect(cycle.deferred.first?.reason == "no checkpoint of us-ca yet")
        #expect(throws: NettingError.self) { try SettlementCycle.plan(number: 1, checkpoints: [tx, tx], halted: []) }
        #expect(throws: NettingError.self) { try SettlementCycle.plan(number: 0, checkpoints: [tx], halted: []) }
    }
}
