import Foundation

/// One HTTP request as the endpoints see it: the path, the query's parameters (the
/// first of each name, percent-decoded) and the body.
public struct DebugPprofRequest: Sendable {
  public var method: String
  public var path: String
  public var query: [String: String]
  public var rawQuery: String
  public var body: [UInt8]

  /// `uri` as the request line gives it, "/debug/pprof/heap?debug=1".
  public init(method: String, uri: String, body: [UInt8] = []) {
    self.method = method
    self.body = body
    let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
    path = parts.first.map { String($0).removingPercentEncoding ?? String($0) } ?? "/"
    rawQuery = parts.count > 1 ? String(parts[1]) : ""
    var query: [String: String] = [:]
    for pair in rawQuery.split(separator: "&") {
      let field = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
        String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
      }
      if let name = field.first, query[name] == nil { query[name] = field.count > 1 ? field[1] : "" }
    }
    self.query = query
  }
}

/// What an endpoint answers.
public struct DebugPprofResponse: Sendable {
  public var status: Int
  public var headers: [(name: String, value: String)]
  public var body: [UInt8]

  public init(status: Int = 200, contentType: String, body: [UInt8], headers: [(name: String, value: String)] = []) {
    self.status = status
    self.headers = [("Content-Type", contentType), ("X-Content-Type-Options", "nosniff")] + headers
    self.body = body
  }

  /// A download, as Go names it: `Content-Disposition: attachment; filename="profile"`.
  static func file(_ body: [UInt8], named name: String) -> DebugPprofResponse {
    DebugPprofResponse(contentType: "application/octet-stream", body: body,
                       headers: [("Content-Disposition", "attachment; filename=\"\(name)\"")])
  }

  static func text(_ text: String, contentType: String = "text/plain; charset=utf-8") -> DebugPprofResponse {
    DebugPprofResponse(contentType: contentType, body: Array(text.utf8))
  }

  /// Go's serveError: plain text with the reason, and `X-Go-Pprof: 1`, which tells
  /// go tool pprof that the body is a message to show, not a profile.
  static func error(_ status: Int, _ reason: String) -> DebugPprofResponse {
    DebugPprofResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((reason + "\n").utf8),
                       headers: [("X-Go-Pprof", "1")])
  }
}

/// A request the endpoints refuse: its status and reason.
struct Refusal: Error {
  let status: Int
  let reason: String

  static func badRequest(_ reason: String) -> Refusal { Refusal(status: 400, reason: reason) }
}
