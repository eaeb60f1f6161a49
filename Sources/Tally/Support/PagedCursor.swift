/// Iterates a large result a page at a time, so memory does not grow with the table.
///
/// Each page is read in its own short read transaction, keyed on the last row seen
/// (keyset pagination), so no connection is held between pages and abandoning a cursor
/// costs nothing. Use it as an iterator whose `next()` throws, or as an `AsyncSequence`:
///
/// ```swift
/// var cursor = store.ledger.events(from: 1)
/// while let event = try cursor.next() { … }
///
/// for try await event in store.ledger.events(from: 1) { … }
/// ```
///
/// Iterated with `for try await`, each page is read on the store's reader threads, never
/// on the task's own.
public struct PagedCursor<Element: Sendable>: Sendable {
    /// Fetches the page after `after` (nil for the first page).
    typealias FetchPage = @Sendable (_ after: Element?) throws(TallyError) -> [Element]

    private let fetchPage: FetchPage
    private let queues: StoreQueues?
    private var page: [Element] = []
    private var index = 0
    private var last: Element?
    private var finished = false
    private let pageSize: Int

    init(pageSize: Int, queues: StoreQueues? = nil, fetchPage: @escaping FetchPage) {
        self.pageSize = pageSize
        self.queues = queues
        self.fetchPage = fetchPage
    }

    /// The next element, or nil at the end.
    public mutating func next() throws(TallyError) -> Element? {
        if index == page.count {
            guard !finished else { return nil }
            accept(try fetchPage(last))
            guard !page.isEmpty else { return nil }
        }
        return advance()
    }

    /// Reads every remaining element into an array (for results known to be small).
    public mutating func collect() throws(TallyError) -> [Element] {
        var all: [Element] = []
        while let element = try next() { all.append(element) }
        return all
    }

    private mutating func accept(_ newPage: [Element]) {
        page = newPage
        index = 0
        finished = newPage.count < pageSize
    }

    private mutating func advance() -> Element {
        let element = page[index]
        index += 1
        last = element
        return element
    }

    /// The next element, reading a new page off the caller's thread when one is needed.
    mutating func nextAsync() async throws(TallyError) -> Element? {
        if index == page.count {
            guard !finished else { return nil }
            let fetch = fetchPage
            let after = last
            let newPage: [Element]
            if let queues {
                newPage = try await queues.read { () throws(TallyError) -> [Element] in try fetch(after) }
            } else {
                newPage = try fetch(after)
            }
            accept(newPage)
            guard !page.isEmpty else { return nil }
        }
        return advance()
    }
}

extension PagedCursor: AsyncSequence {
    /// Iterates the cursor asynchronously.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var cursor: PagedCursor

        /// The next element, or nil at the end.
        public mutating func next() async throws(TallyError) -> Element? {
            try await cursor.nextAsync()
        }

        /// The next element (the isolation-aware form the standard library calls).
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(TallyError) -> Element? {
            try await cursor.nextAsync()
        }
    }

    /// An iterator starting where the cursor stands.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(cursor: self)
    }
}
