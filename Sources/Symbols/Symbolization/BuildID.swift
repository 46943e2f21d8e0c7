extension ELFFile {
  /// The file's GNU build ID (NT_GNU_BUILD_ID in any SHT_NOTE section), or nil:
  /// what identifies these exact bytes across runs, renames and copies.
  func buildID() throws -> [UInt8]? {
    for section in sections where section.type == 7 {  // SHT_NOTE
      let notes = try contents(of: section)
      var offset = 0
      while offset + 12 <= notes.count {
        let nameSize = Int(notes.integer(at: offset) as UInt32), descSize = Int(notes.integer(at: offset + 4) as UInt32)
        let type: UInt32 = notes.integer(at: offset + 8)
        let nameStart = offset + 12
        let descStart = nameStart + (nameSize + 3) & ~3
        let next = descStart + (descSize + 3) & ~3
        guard nameSize <= notes.count, descSize <= notes.count, next <= notes.count + 3 else { break }
        if type == 3, nameSize == 4, notes[nameStart..<nameStart + 4].elementsEqual([0x47, 0x4e, 0x55, 0]),  // "GNU\0"
           descSize > 0, descStart + descSize <= notes.count {
          return Array(notes[descStart..<descStart + descSize])
        }
        offset = next
      }
    }
    return nil
  }
}
