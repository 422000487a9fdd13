import CXML2
import SDTCore

/// A parsed XML element: what the bank messages are read into and written from. libxml2 parses and
/// serialises; this tree is plain Swift values, so nothing of libxml2 outlives one call.
public struct XMLElement: Sendable, Equatable {
    public var name: String
    /// The namespace URI, or nil for none.
    public var namespace: String?
    public var attributes: [String: String]
    public var children: [XMLElement]
    /// The element's own text (its text and CDATA children, joined), trimmed of surrounding white space.
    public var text: String

    public init(
        _ name: String, namespace: String? = nil, attributes: [String: String] = [:], text: String = "",
        children: [XMLElement] = []
    ) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// The first child named `name`.
    public func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }

    /// Every child named `name`, in document order.
    public func all(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }

    /// The element at a path of child names, e.g. `["GrpHdr", "MsgId"]`.
    public func at(_ path: String...) -> XMLElement? { at(path) }

    public func at(_ path: [String]) -> XMLElement? {
        var element = self
        for name in path {
            guard let next = element.child(name) else { return nil }
            element = next
        }
        return element
    }

    /// The text at a path, or nil when the element is absent or empty.
    public func text(_ path: String...) -> String? {
        guard let element = at(path), !element.text.isEmpty else { return nil }
        return element.text
    }
}

/// Why a document was refused before anything in it was read.
public struct XMLProblem: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Parsing, validating and serialising XML with libxml2, set up for documents from outside: no DTD
/// (so no external entities, no entity expansion), no network access, a size limit.
public enum XMLDocumentIO {
    /// The largest document accepted: a day's notifications of a busy reserve account fit many times over.
    public static let bytesMax = 8 << 20

    /// libxml2's one-time global set-up, done before any use (in 2.9 it is not safe to race).
    static let initialised: Void = xmlInitParser()

    /// Parses `bytes` into a tree. Refuses a document with a DOCTYPE or an entity declaration (the XXE
    /// and "billion laughs" attacks live there, and ISO 20022 messages have none), one that is not
    /// well-formed (with the line libxml2 reports), and one over `bytesMax`.
    public static func parse(_ bytes: [UInt8]) throws(XMLProblem) -> XMLElement {
        _ = initialised
        guard !bytes.isEmpty else { throw XMLProblem("the document is empty") }
        guard bytes.count <= bytesMax else {
            throw XMLProblem("the document is \(bytes.count) bytes; at most \(bytesMax) are accepted")
        }
        if contains(bytes, "<!DOCTYPE") || contains(bytes, "<!ENTITY") {
            throw XMLProblem(
                "the document declares a DOCTYPE or an entity; ISO 20022 messages have none, and they are refused "
                    + "so that no external or expanding entity is ever read")
        }
        let collector = ErrorCollector()
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let parsed: xmlDocPtr? = withErrors(collector) {
            bytes.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    xmlReadMemory($0, Int32(buffer.count), "message.xml", nil, options)
                }
            }
        }
        guard let document = parsed else {
            throw XMLProblem("the document is not well-formed XML: \(collector.summary(or: "libxml2 gave no reason"))")
        }
        defer { xmlFreeDoc(document) }
        guard document.pointee.intSubset == nil, document.pointee.extSubset == nil else {
            throw XMLProblem("the document declares a DOCTYPE; it is refused")
        }
        guard let root = xmlDocGetRootElement(document) else { throw XMLProblem("the document has no root element") }
        return element(root)
    }

    /// Checks `bytes` against an XML Schema; returns the schema's complaints (empty when valid).
    static func validate(_ bytes: [UInt8], against schema: CompiledSchema) -> [String] {
        _ = initialised
        guard !bytes.isEmpty, bytes.count <= bytesMax else {
            return ["the document is empty or over \(bytesMax) bytes"]
        }
        let collector = ErrorCollector()
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let parsed: xmlDocPtr? = withErrors(collector) {
            bytes.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    xmlReadMemory($0, Int32(buffer.count), "message.xml", nil, options)
                }
            }
        }
        guard let document = parsed else { return [collector.summary(or: "not well-formed")] }
        defer { xmlFreeDoc(document) }
        guard let context = xmlSchemaNewValidCtxt(schema.pointer) else { return ["the schema could not be used"] }
        defer { xmlSchemaFreeValidCtxt(context) }
        xmlSchemaSetValidStructuredErrors(context, collect, Unmanaged.passUnretained(collector).toOpaque())
        let result = withExtendedLifetime(collector) { xmlSchemaValidateDoc(context, document) }
        if result == 0 { return [] }
        return collector.messages.isEmpty ? ["the document does not match the schema"] : collector.messages
    }

    /// Serialises a tree as a UTF-8 document with an XML declaration, indented, escaping every text and
    /// attribute value (libxml2 does the writing).
    public static func serialise(_ root: XMLElement) -> [UInt8] {
        _ = initialised
        let document = xmlNewDoc("1.0")!
        defer { xmlFreeDoc(document) }
        let node = build(root, in: document, parent: nil, inherited: nil)
        xmlDocSetRootElement(document, node)
        var output: UnsafeMutablePointer<xmlChar>?
        var size: Int32 = 0
        xmlDocDumpFormatMemoryEnc(document, &output, &size, "UTF-8", 1)
        guard let output else { return [] }
        defer { sdt_xml_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    private static func build(
        _ element: XMLElement, in document: xmlDocPtr, parent: xmlNodePtr?, inherited: xmlNsPtr?
    )
        -> xmlNodePtr
    {
        let node = xmlNewDocNode(document, nil, element.name, nil)!
        var namespace = inherited
        if let uri = element.namespace, inherited.map({ String(cString: $0.pointee.href) }) != uri {
            namespace = xmlNewNs(node, uri, nil)
        }
        xmlSetNs(node, namespace)
        for (name, value) in element.attributes.sorted(by: { $0.key < $1.key }) { xmlSetProp(node, name, value) }
        if !element.text.isEmpty { xmlNodeAddContent(node, element.text) }
        if let parent { xmlAddChild(parent, node) }
        for child in element.children { _ = build(child, in: document, parent: node, inherited: namespace) }
        return node
    }

    private static func element(_ node: xmlNodePtr) -> XMLElement {
        var attributes: [String: String] = [:]
        var attribute = node.pointee.properties
        while let current = attribute {
            let name = String(cString: current.pointee.name)
            if let value = xmlGetProp(node, current.pointee.name) {
                attributes[name] = String(cString: value)
                sdt_xml_free(value)
            }
            attribute = current.pointee.next
        }
        var children: [XMLElement] = []
        var text = ""
        var child = node.pointee.children
        while let current = child {
            switch current.pointee.type {
            case XML_ELEMENT_NODE: children.append(element(current))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = current.pointee.content { text += String(cString: content) }
            default: break
            }
            child = current.pointee.next
        }
        return XMLElement(
            String(cString: node.pointee.name), namespace: node.pointee.ns.map { String(cString: $0.pointee.href) },
            attributes: attributes, text: text.trimmingWhitespace(), children: children)
    }

    private static func contains(_ bytes: [UInt8], _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard bytes.count >= pattern.count else { return false }
        for start in 0...(bytes.count - pattern.count) where bytes[start] == pattern[0] {
            if bytes[start..<(start + pattern.count)].elementsEqual(pattern) { return true }
        }
        return false
    }

    /// Runs `body` with libxml2's errors of this thread going to `collector`, then restores the default.
    fileprivate static func withErrors<T>(_ collector: ErrorCollector, _ body: () -> T) -> T {
        xmlSetStructuredErrorFunc(Unmanaged.passUnretained(collector).toOpaque(), collect)
        defer { xmlSetStructuredErrorFunc(nil, nil) }
        return withExtendedLifetime(collector) { body() }
    }
}

/// A compiled XML Schema, parsed once; validation contexts made from it are per call.
final class CompiledSchema: @unchecked Sendable {
    let pointer: xmlSchemaPtr

    init(_ text: [UInt8], name: String) {
        _ = XMLDocumentIO.initialised
        let collector = ErrorCollector()
        let parsed: xmlSchemaPtr? = XMLDocumentIO.withErrors(collector) {
            text.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { bytes in
                    let context = xmlSchemaNewMemParserCtxt(bytes, Int32(buffer.count))
                    defer { xmlSchemaFreeParserCtxt(context) }
                    return xmlSchemaParse(context)
                }
            }
        }
        guard let parsed else {
            preconditionFailure("the embedded schema \(name) does not compile: \(collector.messages)")
        }
        pointer = parsed
    }
}

/// Gathers libxml2's structured errors: the message and line of each.
private final class ErrorCollector {
    var messages: [String] = []

    func summary(or fallback: String) -> String {
        messages.isEmpty ? fallback : messages.prefix(3).joined(separator: "; ")
    }
}

private func collect(_ context: UnsafeMutableRawPointer?, _ error: xmlErrorPtr?) {
    guard let context, let error, messages(context).count < 20 else { return }
    let collector = Unmanaged<ErrorCollector>.fromOpaque(context).takeUnretainedValue()
    let message =
        error.pointee.message.map { String(cString: $0).trimmingWhitespace() } ?? "error \(error.pointee.code)"
    collector.messages.append(error.pointee.line > 0 ? "line \(error.pointee.line): \(message)" : message)
}

private func messages(_ context: UnsafeMutableRawPointer) -> [String] {
    Unmanaged<ErrorCollector>.fromOpaque(context).takeUnretainedValue().messages
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !" \t\r\n".unicodeScalars.contains($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !" \t\r\n".unicodeScalars.contains($0) })!
        return String(scalars[first...last])
    }
}
