//! Opaque C objects: what C code holds is a pointer to a zero-sized struct
//! of the C layer, which is really a `Box` of the Rust object behind it.

/// A C object type (`codomyrmex_key_manager`, …): every pointer to it
/// came from [`Handle::into_raw`] and is released by [`Handle::free`].
pub(crate) trait Handle: Sized {
    /// The Rust object behind the handle.
    type Target;

    /// Moves `target` to the heap and gives out its handle.
    fn into_raw(target: Self::Target) -> *mut Self {
        Box::into_raw(Box::new(target)).cast()
    }

    /// The object behind `ptr`; `None` for NULL.
    ///
    /// # Safety
    /// `ptr` must be NULL or a handle from [`Handle::into_raw`] not yet
    /// freed, and stay so during `'a`.
    unsafe fn as_ref<'a>(ptr: *const Self) -> Option<&'a Self::Target> {
        // SAFETY: as the caller promises, a non-NULL `ptr` is a live box.
        unsafe { ptr.cast::<Self::Target>().as_ref() }
    }

    /// The object behind `ptr` for exclusive use; `None` for NULL.
    ///
    /// # Safety
    /// As [`Handle::as_ref`], and nothing else may use it during `'a`.
    unsafe fn as_mut<'a>(ptr: *mut Self) -> Option<&'a mut Self::Target> {
        // SAFETY: as the caller promises.
        unsafe { ptr.cast::<Self::Target>().as_mut() }
    }

    /// Drops the object behind `ptr` (whose own `Drop` wipes its secrets);
    /// NULL does nothing.
    ///
    /// # Safety
    /// `ptr` must be NULL or a handle from [`Handle::into_raw`] not yet
    /// freed; it is invalid afterwards.
    unsafe fn free(ptr: *mut Self) {
        if !ptr.is_null() {
            // SAFETY: as the caller promises, `ptr` came from
            // `Box::into_raw` in `into_raw` and is freed once.
            drop(unsafe { Box::from_raw(ptr.cast::<Self::Target>()) });
        }
    }
}

/// `free_handle!(km)`: releases a handle inside the panic boundary.
macro_rules! free_handle {
    ($ptr:ident) => {
        $crate::ffi::boundary::guard_value((), || {
            // SAFETY: the entry point's contract: NULL or a live handle,
            // freed once.
            unsafe { $crate::ffi::handle::Handle::free($ptr) }
        })
    };
}

pub(crate) use free_handle;
