import Pprof
import Demangle

/// A profile's locations resolved to frames once, so that reports walk integer
/// arrays instead of hashing ids and strings for each of a million samples.
/// A frame is one function at one line: a location with inlined calls has
/// several frames, innermost first, as in the file.
public struct CallStacks: Sendable {
  /// Distinct functions by display name (demangled), indexed by frame function.
  public private(set) var functions: [FunctionInfo] = []
  /// Frames of the location at dense index i are frames[frameStart[i]..<frameStart[i + 1]].
  private var frameStart: [Int32] = [0]
  public private(set) var frames: [Frame] = []
  private let locationIndex: IDIndex

  /// Distinct source file names as pprof shows them (see `SourcePath.display`),
  /// indexed by frame file; 0 is "" (unknown).
  public private(set) var files: [String] = [""]

  public struct FunctionInfo: Sendable, Equatable {
    public var name: String
    /// The first file seen for the name: functions of one name are one function in reports.
    public var file: String
    /// A module's code without symbols, named `[module]`: no source to list.
    public var isUnsymbolized = false
  }

  public struct Frame: Sendable, Equatable {
    public var function: Int32
    /// This frame's own file (functions of one name may come from several).
    public var file: Int32
    public var line: Int64
    /// The first line of the frame's function, 0 when unknown.
    public var startLine: Int64
    /// Inlined into the next frame of the same location.
    public var isInlined: Bool
  }

  public init(_ profile: Profile) {
    locationIndex = IDIndex(profile.locations.map(\.id))
    var functionNames = FunctionNames(profile)
    let mappingFiles = Dictionary(profile.mappings.map { ($0.id, $0.filename) }, uniquingKeysWith: { first, _ in first })
    var fileIndex = ["": Int32(0)]
    for location in profile.locations {
      if location.lines.isEmpty {
        let name = Self.unsymbolizedName(location, mappingFiles)
        frames.append(Frame(function: functionNames.intern(name, file: "", isUnsymbolized: true), file: 0, line: 0,
                            startLine: 0, isInlined: false))
      }
      for (position, line) in location.lines.enumerated() {
        let (name, file, startLine) = functionNames[line.functionID]
        if fileIndex[file] == nil {
          fileIndex[file] = Int32(files.count)
          files.append(SourcePath.display(file))
        }
        let fileNumber = fileIndex[file]!
        frames.append(Frame(function: functionNames.intern(name, file: file), file: fileNumber, line: line.line,
                            startLine: startLine, isInlined: position < location.lines.count - 1))
      }
      frameStart.append(Int32(frames.count))
    }
    functions = functionNames.distinct
  }

  /// The dense index of a location; validated profiles only refer to locations they define.
  @inline(__always)
  public func locationIndex(_ id: UInt64) -> Int { locationIndex[id]! }

  public var locationCount: Int { frameStart.count - 1 }

  /// Frames of one location (by dense index), innermost first.
  @inline(__always)
  public func frames(ofLocation index: Int) -> Range<Int> {
    Int(frameStart[index])..<Int(frameStart[index + 1])
  }

  /// Every frame of a sample, leaf first.
  @inline(__always)
  public func forEachFrame(of sample: Sample, _ body: (Frame) -> Void) {
    for id in sample.locationIDs {
      for frame in frames[frames(ofLocation: locationIndex(id))] { body(frame) }
    }
  }

  /// Function indices of a sample's stack, root first: the order of folded stacks and flame graphs.
  public func rootFirstFunctions(of sample: Sample, into stack: inout [Int32]) {
    stack.removeAll(keepingCapacity: true)
    forEachFrame(of: sample) { stack.append($0.function) }
    stack.reverse()
  }

  /// go tool pprof's name for a location without symbols at function granularity: its
  /// binary, as `[sort]`, so that a stripped module's code is one row (addresses differ
  /// from run to run and say nothing without symbols); `<unknown>` without a mapping.
  private static func unsymbolizedName(_ location: Location, _ mappingFiles: [UInt64: String]) -> String {
    let file = mappingFiles[location.mappingID] ?? ""
    return file.isEmpty ? "<unknown>" : "[" + (file.split(separator: "/").last.map(String.init) ?? file) + "]"
  }
}

/// Display names of functions, demangled once each, interned to dense indices.
private struct FunctionNames {
  private var byID: [UInt64: (name: String, file: String, startLine: Int64)] = [:]
  private var indexByName: [String: Int32] = [:]
  private(set) var distinct: [CallStacks.FunctionInfo] = []

  init(_ profile: Profile) {
    byID.reserveCapacity(profile.functions.count)
    for function in profile.functions {
      byID[function.id] = (Self.displayName(function), function.filename, function.startLine)
    }
  }

  /// Validated profiles only refer to functions they define.
  subscript(id: UInt64) -> (name: String, file: String, startLine: Int64) { byID[id] ?? ("<unknown>", "", 0) }

  mutating func intern(_ name: String, file: String, isUnsymbolized: Bool = false) -> Int32 {
    if let index = indexByName[name] { return index }
    let index = Int32(distinct.count)
    indexByName[name] = index
    distinct.append(CallStacks.FunctionInfo(name: name, file: file, isUnsymbolized: isUnsymbolized))
    return index
  }

  /// The readable name: demangled when the profile came in mangled.
  private static func displayName(_ function: Function) -> String {
    let name = function.name.isEmpty ? function.systemName : function.name
    return Demangler.demangle(name)
  }
}
