import Testing
@testable import SDTCore

@Suite struct AmountTests {
    @Test func boundsAreEnforced() {
        #expect(Amount(minorUnits: 0) == nil)
        #expect(Amount(minorUnits: -1) == nil)
        #expect(Amount(minorUnits: Amount.minorUnitsMax + 1) == nil)
        #expect(Amount(minorUnits: 1)?.minorUnits == 1)
        #expect(Amount(minorUnits: Amount.minorUnitsMax)?.minorUnits == Amount.minorUnitsMax)
    }

    @Test func canonicalTextRefusesSignsAndLeadingZeros() {
        #expect(Amount(canonical: "1250")?.minorUnits == 1250)
        #expect(Amount(canonical: "01250") == nil)
        #expect(Amount(canonical: "+5") == nil)
        #expect(Amount(canonical: "-5") == nil)
        #expect(Amount(canonical: "0") == nil)
        #expect(Amount(canonical: "1e3") == nil)
        #expect(Amount(canonical: "") == nil)
        #expect(Amount(canonical: "99999999999999999999") == nil)
    }

    @Test func balanceRefusesOverdraftAndOverflow() {
        var balance = Balance(minorUnits: 100)
        let overdraft = balance.debit(Amount(minorUnits: 101)!)
        #expect(!overdraft)
        #expect(balance.minorUnits == 100)
        let exact = balance.debit(Amount(minorUnits: 100)!)
        #expect(exact)
        #expect(balance.minorUnits == 0)
        var large = Balance(minorUnits: Int64.max - 5)
        let overflow = large.credit(Amount(minorUnits: 6)!)
        #expect(!overflow)
        #expect(large.minorUnits == Int64.max - 5)
    }

    @Test func displayUsesMinorUnits() {
        #expect(Amount.display(123456, .usd) == "1234.56 USD")
        #expect(Amount.display(5, .usd) == "0.05 USD")
        #expect(Amount.display(-1005, .usd) == "-10.05 USD")
        #expect(Amount.display(12345, .gold) == "12.345 g GOLD")
        #expect(Amount.display(7, .gold) == "0.007 g GOLD")
    }
}

@Suite struct DecimalAmountTests {
    @Test func parsesDisplayUnitsExactly() {
        #expect(Token.usd.minorUnits(decimal: "12.50") == 1250)
        #expect(Token.usd.minorUnits(decimal: "12.5") == 1250)
        #expect(Token.usd.minorUnits(decimal: "12") == 1200)
        #expect(Token.usd.minorUnits(decimal: "0.01") == 1)
        #expect(Token.gold.minorUnits(decimal: "31.103") == 31_103)
        #expect(Token.usd.minorUnits(decimal: "0.10000000000000001") == nil)
        #expect(Token.usd.minorUnits(decimal: "12.345") == nil)
        #expect(Token.usd.minorUnits(decimal: "-1") == nil)
        #expect(Token.usd.minorUnits(decimal: "1e3") == nil)
        #expect(Token.usd.minorUnits(decimal: "0") == nil)
        #expect(Token.usd.minorUnits(decimal: "12.") == nil)
        #expect(Token.usd.minorUnits(decimal: ".5") == nil)
        #expect(Token.usd.minorUnits(decimal: "10000000000001") == nil)
    }
}
