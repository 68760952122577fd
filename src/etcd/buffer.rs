//! A growable byte buffer for HTTP bodies that may hold key material: it
//! is wiped when dropped, and growing it never leaves an unwiped copy
//! behind (a plain `Vec` reallocation would free the old block as it is).

use std::io::{self, Read, Write};
use zeroize::{Zeroize, Zeroizing};

/// Bytes read from a body in one call, at most.
const READ_CHUNK: usize = 16 * 1024;

/// A byte buffer that is overwritten with zeros when dropped, when it
/// grows (the old block) and when bytes are removed from its front.
#[derive(Default)]
pub(crate) struct WipedBuf(Zeroizing<Vec<u8>>);

impl WipedBuf {
    /// An empty buffer with room for `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        WipedBuf(Zeroizing::new(Vec::with_capacity(capacity)))
    }

    /// The bytes held.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.len()
    }

    /// Makes room for `extra` more bytes; a new block is allocated and the
    /// old one wiped when the current one is too small.
    fn reserve(&mut self, extra: usize) {
        let needed = self.0.len().saturating_add(extra);
        if needed <= self.0.capacity() {
            return;
        }
        let capacity = needed.max(self.0.capacity().saturating_mul(2));
        let mut grown = Zeroizing::new(Vec::with_capacity(capacity));
        grown.extend_from_slice(&self.0);
        // The old block is wiped as `Zeroizing` drops it.
        self.0 = grown;
    }

    /// Reads from `reader` until the end, failing once more than `limit`
    /// bytes arrive. Errors of kind `TimedOut`/`WouldBlock` are returned
    /// as they are and leave what was read so far in the buffer.
    pub(crate) fn read_to_end(&mut self, reader: &mut impl Read, limit: usize) -> io::Result<()> {
        while self.read_some(reader, limit)? > 0 {}
        Ok(())
    }

    /// One read of at most [`READ_CHUNK`] bytes appended to the buffer;
    /// returns how many (0 at the end of the input).
    pub(crate) fn read_some(&mut self, reader: &mut impl Read, limit: usize) -> io::Result<usize> {
        if self.0.len() >= limit {
            return Err(io::Error::other(format!(
                "answer larger than the limit of {limit} bytes"
            )));
        }
        self.reserve(READ_CHUNK);
        let start = self.0.len();
        // Capacity is reserved, so this resize does not reallocate.
        self.0.resize(start + READ_CHUNK, 0);
        let result = reader.read(&mut self.0[start..]);
        let amount = *result.as_ref().unwrap_or(&0);
        self.0.truncate(start + amount);
        result
    }

    /// Removes the first `count` bytes, wiping the place they left free.
    pub(crate) fn remove_front(&mut self, count: usize) {
        let count = count.min(self.0.len());
        let remaining = self.0.len() - count;
        self.0.copy_within(count.., 0);
        self.0[remaining..].zeroize();
        self.0.truncate(remaining);
    }
}

impl Write for WipedBuf {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.reserve(bytes.len());
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_keeps_content() {
        let mut buf = WipedBuf::with_capacity(2);
        buf.write_all(b"hello ").unwrap();
        buf.write_all(&[7u8; 1000]).unwrap();
        assert_eq!(buf.len(), 1006);
        assert_eq!(&buf.as_slice()[..6], b"hello ");
    }

    #[test]
    fn reads_to_end_within_limit() {
        let data = vec![5u8; 40_000];
        let mut buf = WipedBuf::default();
        buf.read_to_end(&mut &data[..], 1 << 20).unwrap();
        assert_eq!(buf.as_slice(), &data[..]);
        let mut small = WipedBuf::default();
        assert!(small.read_to_end(&mut &data[..], 1000).is_err());
    }

    #[test]
    fn removes_from_the_front() {
        let mut buf = WipedBuf::default();
        buf.write_all(b"line one\nrest").unwrap();
        buf.remove_front(9);
        assert_eq!(buf.as_slice(), b"rest");
        buf.remove_front(100);
        assert_eq!(buf.len(), 0);
    }
}
