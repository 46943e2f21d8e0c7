import OutputFile

/// The one way prof tells the user something: "prof: <message>" on stderr, through
/// StandardStream (one write per line, never a trap on a closed stderr).
public func warn(_ message: String) { StandardStream.say("prof: " + message) }
