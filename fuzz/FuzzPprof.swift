// libFuzzer entry for the pprof reader: any bytes must decode or throw a
// ProfileFormatError, never crash, hang or allocate without bound. Decoded
// profiles must also survive the report stages. Built by scripts/fuzz-pprof.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPprof(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let profile = try? Profile(fileBytes: bytes) else { return 0 }
  // A decoded profile is valid: encoding it again must give the same profile.
  guard (try? ProfileDecoder.decode(ProfileEncoder.encode(profile))) == profile else { fatalError("re-encoding changed the profile") }
  // What reports read: the same file with identical samples summed, never more rows.
  guard let aggregated = try? Profile(fileBytes: bytes, samples: .aggregated), aggregated.samples.count <= profile.samples.count
  else { fatalError("aggregated decoding failed where exact decoding succeeded") }
  return 0
}
