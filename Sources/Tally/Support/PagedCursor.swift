/// Iterates a large result a page at a time, so memory does not grow with the table.
///
/// Each page is read in its own short read transaction, keyed on the last row seen
/// (keyset pagination), so no connection is held between calls to ``next()`` and
/// abandoning a cursor costs nothing. Use it like an iterator whose `next()` throws:
///
/// ```swift
/// var cursor = store.ledger.events(from: 1)
/// while let event = try cursor.next() { … }
/// ```
public struct PagedCursor<Element: Sendable>: Sendable {
    /// Fetches the page after `after` (nil for the first page).
    typealias FetchPage = @Sendable (_ after: Element?) throws(TallyError) -> [Element]

    private let fetchPage: FetchPage
    private var page: [Element] = []
    private var index = 0
    private var last: Element?
    private var finished = false
    private let pageSize: Int

    init(pageSize: Int, fetchPage: @escaping FetchPage) {
        self.pageSize = pageSize
        self.fetchPage = fetchPage
    }

    /// The next element, or nil at the end.
    public mutating func next() throws(TallyError) -> Element? {
        if index == page.count {
            guard !finished else { return nil }
            page = try fetchPage(last)
            index = 0
            finished = page.count < pageSize
            guard !page.isEmpty else { return nil }
        }
        let element = page[index]
        index += 1
        last = element
        return element
    }

    /// Reads every remaining element into an array (for results known to be small).
    public mutating func collect() throws(TallyError) -> [Element] {
        var all: [Element] = []
        while let element = try next() { all.append(element) }
        return all
    }
}
