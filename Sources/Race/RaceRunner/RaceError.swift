/// Failures before or around the run; each is one line for the user.
public enum RaceError: Error, Equatable, CustomStringConvertible {
  case noPackage(String)
  case cannotCreate(String, String)
  case noSuchFile(option: String, path: String)

  public var description: String {
    switch self {
    case .noPackage(let path): "no Package.swift in \(path)"
    case .cannotCreate(let path, let reason): "cannot create \(path): \(reason)"
    case .noSuchFile(let option, let path): "\(option): no such file: \(path)"
    }
  }
}
