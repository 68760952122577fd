//! A value whose every byte is zeroed after it is dropped: for secret
//! state held on the heap whose type has no wiping of its own, or whose
//! size varies (an enum whose largest variant leaves a tail unused by the
//! smaller ones: the whole slot is zeroed, tail and padding included).

use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};

/// `T`, dropped in place and then overwritten with zeros.
pub(crate) struct Wiped<T>(ManuallyDrop<T>);

impl<T> Wiped<T> {
    /// Wraps `value`.
    pub(crate) fn new(value: T) -> Wiped<T> {
        Wiped(ManuallyDrop::new(value))
    }
}

impl<T: Clone> Clone for Wiped<T> {
    fn clone(&self) -> Wiped<T> {
        Wiped::new((*self.0).clone())
    }
}

impl<T> Deref for Wiped<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Wiped<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> Drop for Wiped<T> {
    fn drop(&mut self) {
        // SAFETY: the value is dropped exactly once, here: `ManuallyDrop`
        // keeps anything else from dropping it, and `self` is not used
        // after this. Then its slot, a plain block of `size_of::<T>()`
        // bytes that nothing reads again, is zeroed with volatile writes;
        // zeros are a valid `ManuallyDrop<T>` as far as nothing reads it,
        // and nothing does.
        unsafe {
            ManuallyDrop::drop(&mut self.0);
            zeroize::zeroize_flat_type(&mut self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn drops_the_value_once() {
        struct Counted(Rc<Cell<u32>>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let drops = Rc::new(Cell::new(0));
        let wiped = Wiped::new(Counted(Rc::clone(&drops)));
        let copy = Wiped::new(Counted(Rc::clone(&drops)));
        drop(wiped);
        assert_eq!(drops.get(), 1);
        drop(copy);
        assert_eq!(drops.get(), 2);
    }
}
