import Testing

@testable import SDTNode

/// The strict reading of bodies: a repeated key is refused however it is spelled, and what JSON
/// allows passes.
@Suite struct StrictJSONTests {
    @Test func repeatedKeysAreRefusedHoweverSpelled() {
        let refused: [(String, String)] = [
            (#"{"amount":1,"amount":2}"#, "the key \"amount\" twice"),
            (#"{"a":1,"\u0061":2}"#, "the key \"a\" twice"),
            (#"{"\u00e9":1,"é":2}"#, "twice"),
            (#"{"x":[{"k":1,"k":1}]}"#, "the key \"k\" twice"),
            (#"{"\ud83d\ude00":1,"😀":2}"#, "twice"),
            ("{\"a\":\"line\nbreak\"}", "a control character (0xa)"),
            (#"{"a":"\ud83d"}"#, "a lone surrogate"),
            (#"{"a":1} x"#, "text after the JSON value"),
            (#"{"a":"\q"}"#, "an unknown escape"),
        ]
        for (body, reason) in refused {
            let problem = StrictJSON.problem(Array(body.utf8))
            #expect(problem?.contains(reason) == true, "\(body): \(problem ?? "accepted")")
        }
        let accepted = [
            #"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#, #"{"\u0061b":1,"ab2":"\"quoted\" \\ \/ \u00e9"}"#,
            #"[1,-0.5e+3,true,false,null,"x"]"#,
        ]
        for body in accepted { #expect(StrictJSON.problem(Array(body.utf8)) == nil, "\(body)") }
    }
}
