import Dispatch
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP server of `prof run --http`: NIO's HTTP/1 codec on one event loop;
/// each request runs on a thread of its own (a window blocks for its seconds) and
/// its response is written back on the loop.
public final class DebugPprofServer: @unchecked Sendable {
  private let group: MultiThreadedEventLoopGroup
  private let channel: Channel
  private let inFlight = InFlight()
  /// "HOST:PORT" as bound (port 0 asks for a free one).
  public let boundAddress: String

  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  public init(host: String, port: Int, endpoints: DebugPprofEndpoints) throws(Failure) {
    group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let inFlight = inFlight
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.backlog, value: 32)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          // Pipelined requests are held until the previous response's end is written;
          // RequestHandler answers a request NIO cannot parse (400) itself, then closes.
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: false)
          try channel.pipeline.syncOperations.addHandler(RequestHandler(endpoints: endpoints, inFlight: inFlight))
        }
      }
    do {
      channel = try bootstrap.bind(host: host, port: port).wait()
    } catch {
      try? group.syncShutdownGracefully()
      // NIO's IOError reads "bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)".
      let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? String(describing: error)
      throw Failure(description: "cannot serve on \(Self.address(host: host, port: port)): \(reason)")
    }
    boundAddress = Self.address(host: host, port: channel.localAddress?.port ?? port)
  }

  /// "HOST:PORT" as a URL gives it: an IPv6 host in brackets, "[::]:6060".
  public static func address(host: String, port: Int) -> String {
    "\(host.contains(":") ? "[\(host)]" : host):\(port)"
  }

  /// Stops listening; responses being computed get up to `seconds` to be sent
  /// (a window the program's exit cut short still answers with what it has).
  public func shutdown(waitingUpTo seconds: Double) {
    try? channel.close().wait()
    inFlight.waitUntilIdle(seconds: seconds)
    try? group.syncShutdownGracefully()
  }
}

/// Requests being answered, so that the process waits for their responses before it exits.
final class InFlight: @unchecked Sendable {
  private let condition = NSCondition()
  private var count = 0

  func begin() {
    condition.lock()
    count += 1
    condition.unlock()
  }

  func end() {
    condition.lock()
    count -= 1
    condition.broadcast()
    condition.unlock()
  }

  func waitUntilIdle(seconds: Double) {
    let deadline = Date(timeIntervalSinceNow: seconds)
    condition.lock()
    while count > 0 && condition.wait(until: deadline) {}
    condition.unlock()
  }
}

/// A flag set when the client's connection closes.
final class Cancellation: @unchecked Sendable {
  private let lock = NSLock()
  private var cancelled = false

  func cancel() { lock.withLock { cancelled = true } }
  var isCancelled: Bool { lock.withLock { cancelled } }
}

/// One connection: collects a request, answers it off the loop, writes the answer.
final class RequestHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private static let maximumBody = 1 << 20
  private let endpoints: DebugPprofEndpoints
  private let inFlight: InFlight
  private var head: HTTPRequestHead?
  private var body: [UInt8] = []
  private var running: Cancellation?

  init(endpoints: DebugPprofEndpoints, inFlight: InFlight) {
    self.endpoints = endpoints
    self.inFlight = inFlight
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      self.head = head
      body = []
    case .body(var buffer):
      if body.count + buffer.readableBytes <= Self.maximumBody { body += buffer.readBytes(length: buffer.readableBytes) ?? [] }
    case .end:
      guard let head else { return }
      self.head = nil
      answer(DebugPprofRequest(method: head.method.rawValue, uri: head.uri, body: body), head: head, context: context)
    }
  }

  func channelInactive(context: ChannelHandlerContext) {
    running?.cancel()
    context.fireChannelInactive()
  }

  /// A request NIO cannot parse: Go's 400, and the connection closed (NIO's own
  /// error handler answers but leaves it open). Any other error ends the connection.
  func errorCaught(context: ChannelHandlerContext, error: Error) {
    guard error is HTTPParserError else { return context.close(promise: nil) }
    Self.write(.text("400 Bad Request"), status: .badRequest, version: .http1_1, keepAlive: false, headOnly: false, context: context)
  }

  private func answer(_ request: DebugPprofRequest, head: HTTPRequestHead, context: ChannelHandlerContext) {
    let cancellation = Cancellation()
    running = cancellation
    let (endpoints, inFlight) = (self.endpoints, self.inFlight)
    let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
    let keepAlive = head.isKeepAlive
    let version = head.version
    let headOnly = head.method == .HEAD
    inFlight.begin()
    Thread.detachNewThread {
      let response = endpoints.respond(to: request, cancelled: { cancellation.isCancelled })
      bound.eventLoop.execute {
        Self.write(response, status: HTTPResponseStatus(statusCode: response.status), version: version,
                   keepAlive: keepAlive, headOnly: headOnly, context: bound.value) { inFlight.end() }
      }
    }
  }

  /// Writes one response; one the client did not keep alive closes the connection once
  /// sent. Writing its end lets NIO's pipelining handler pass on the next request.
  private static func write(_ response: DebugPprofResponse, status: HTTPResponseStatus, version: HTTPVersion, keepAlive: Bool,
                            headOnly: Bool, context: ChannelHandlerContext, sent: @escaping () -> Void = {}) {
    var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
    headers.add(name: "Content-Length", value: String(response.body.count))
    if !keepAlive { headers.add(name: "Connection", value: "close") }
    context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
    if !headOnly {
      var buffer = context.channel.allocator.buffer(capacity: response.body.count)
      buffer.writeBytes(response.body)
      context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
    }
    let channel = context.channel
    context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
      if !keepAlive { channel.close(promise: nil) }
      sent()
    }
  }
}
