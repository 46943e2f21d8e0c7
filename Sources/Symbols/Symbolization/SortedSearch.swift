extension RandomAccessCollection where Index == Int {
  /// In a collection sorted by `start`, the index of the last element that starts at
  /// or below `address` (the only one that can hold it); nil if all start above it.
  func lastIndex(startingAtOrBelow address: UInt64, start: (Element) -> UInt64) -> Int? {
    var low = startIndex, high = endIndex
    while low < high {
      let middle = low + (high - low) / 2
      if start(self[middle]) <= address { low = middle + 1 } else { high = middle }
    }
    return low > startIndex ? low - 1 : nil
  }
}
