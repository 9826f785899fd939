//! Raw-pointer helpers for the C boundary: every read of caller memory goes through here, each returning
//! early on NULL (rustls-ffi `try_ref_from_ptr!`).

use std::ffi::{c_char, CStr};

use crate::abi::dap_stream_node_addr_t;

/// The address behind `p`, or None for NULL. Reads unaligned (the C type is packed, align 1).
///
/// # Safety
/// `p` is NULL or points to 8 readable bytes.
pub unsafe fn addr_in(p: *const dap_stream_node_addr_t) -> Option<u64> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL and readable per the contract; packed type, so read unaligned.
    Some(unsafe { std::ptr::read_unaligned(p) }.uint64)
}

/// The address behind `p` if non-NULL and non-zero.
///
/// # Safety
/// As [`addr_in`].
pub unsafe fn valid_addr(p: *const dap_stream_node_addr_t) -> Option<u64> {
    // SAFETY: forwarded contract.
    unsafe { addr_in(p) }.filter(|a| *a != 0)
}

/// Write an out-parameter if the pointer is non-NULL.
///
/// # Safety
/// `p` is NULL or valid for writing a `T`.
pub unsafe fn write_out<T>(p: *mut T, v: T) {
    if !p.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { p.write(v) }
    }
}

/// A borrowed UTF-8 view of a C string; None for NULL or invalid UTF-8.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that stays valid for `'a`.
pub unsafe fn str_in<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: per the contract.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// Copy addresses into a `malloc`'d array the caller frees with `free()`; NULL when empty or on OOM.
pub fn malloc_addrs(addrs: &[u64]) -> *mut dap_stream_node_addr_t {
    if addrs.is_empty() {
        return std::ptr::null_mut();
    }
    let size = std::mem::size_of_val(addrs);
    // SAFETY: malloc of the exact size; written element by element before it is handed out.
    unsafe {
        let p = libc::malloc(size).cast::<dap_stream_node_addr_t>();
        if p.is_null() {
            return p;
        }
        for (i, a) in addrs.iter().enumerate() {
            std::ptr::write_unaligned(p.add(i), dap_stream_node_addr_t { uint64: *a });
        }
        p
    }
}

/// Copy a string into a `malloc`'d NUL-terminated buffer the caller frees with `free()`.
pub fn malloc_str(s: &str) -> *mut c_char {
    let bytes = s.as_bytes();
    // SAFETY: malloc of len + 1, fully written.
    unsafe {
        let p = libc::malloc(bytes.len() + 1).cast::<u8>();
        if p.is_null() {
            return std::ptr::null_mut();
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        *p.add(bytes.len()) = 0;
        p.cast()
    }
}

/// Move a Vec to C as (pointer, count); give it back with [`take_slice`]. NULL for empty.
pub fn give_slice<T>(v: Vec<T>) -> (*mut T, usize) {
    if v.is_empty() {
        return (std::ptr::null_mut(), 0);
    }
    let b = v.into_boxed_slice();
    let n = b.len();
    (Box::into_raw(b).cast::<T>(), n)
}

/// Reclaim a slice made by [`give_slice`].
///
/// # Safety
/// `(p, n)` came from `give_slice::<T>` and is reclaimed once.
pub unsafe fn take_slice<T>(p: *mut T, n: usize) {
    if !p.is_null() {
        // SAFETY: per the contract: the exact boxed slice give_slice leaked.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, n)) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_helpers_handle_null_zero_and_unaligned() {
        // SAFETY: NULL and pointers into a live local buffer.
        unsafe {
            assert_eq!(addr_in(std::ptr::null()), None);
            let buf = [0u8, 1, 0, 0, 0, 0, 0, 0, 0];
            let p = buf.as_ptr().add(1).cast::<dap_stream_node_addr_t>();
            assert_eq!(addr_in(p), Some(1));
            let zero = dap_stream_node_addr_t { uint64: 0 };
            assert_eq!(valid_addr(&zero), None);
        }
    }

    #[test]
    fn malloc_helpers_round_trip() {
        let p = malloc_addrs(&[1, 2, 3]);
        // SAFETY: p has 3 elements; freed with free() as C callers do.
        unsafe {
            assert_eq!(addr_in(p.add(2)), Some(3));
            libc::free(p.cast());
        }
        assert!(malloc_addrs(&[]).is_null());
        let s = malloc_str("abc");
        // SAFETY: NUL-terminated, freed once.
        unsafe {
            assert_eq!(str_in(s), Some("abc"));
            libc::free(s.cast());
        }
        let (p, n) = give_slice(vec![7u64, 8]);
        assert_eq!(n, 2);
        // SAFETY: reclaimed once.
        unsafe { take_slice(p, n) };
        let (p, n) = give_slice(Vec::<u64>::new());
        assert!(p.is_null());
        // SAFETY: NULL is accepted.
        unsafe { take_slice(p, n) };
    }
}
