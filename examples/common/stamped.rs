//! A client TCP stream that remembers when the kernel received the bytes it last read.
//!
//! A load generator holds thousands of simulated phones in one process on a shared machine:
//! when a broadcast reaches all of them at once, the time at which the generator's own task
//! gets round to a socket says more about the generator than about the server. Each socket
//! here asks the kernel for a receive timestamp (`SO_TIMESTAMPNS`: the moment the segment
//! reached this host's TCP stack, wall clock in nanoseconds) and keeps the one of its last
//! read; a real phone, with a CPU of its own, sees a frame at about that moment.
//!
//! Linux only: the generator runs beside the server on Linux.

use std::io;
use std::mem::{self, MaybeUninit};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

pub struct Stamped {
    inner: TcpStream,
    /// Kernel receive time of the last read that returned data, ns since the Unix epoch.
    last_rx_ns: Option<u64>,
}

/// Now on the clock the kernel stamps with, ns since the Unix epoch.
#[allow(dead_code)] // not every user of this module needs it
pub fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Stamped {
    pub async fn connect(addr: &str) -> io::Result<Stamped> {
        let inner = TcpStream::connect(addr).await?;
        inner.set_nodelay(true)?;
        let on: libc::c_int = 1;
        // SAFETY: a valid socket descriptor and a c_int option value of the right size.
        let rc = unsafe {
            libc::setsockopt(
                inner.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Stamped {
            inner,
            last_rx_ns: None,
        })
    }

    /// When the kernel received the bytes of the last read, ns since the Unix epoch.
    pub fn last_rx_ns(&self) -> Option<u64> {
        self.last_rx_ns
    }
}

/// `recvmsg` into `buf`, with the `SCM_TIMESTAMPNS` control message if the kernel sent one.
fn recv_stamped(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<(usize, Option<u64>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // u64s keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 16];
    // SAFETY: msghdr is plain data; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of_val(&control) as _;
    // SAFETY: fd is an open socket; msg points at live buffers of the lengths given.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut stamp = None;
    // SAFETY: the CMSG_* walk stays inside msg_controllen as filled in by the kernel.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let t: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                stamp = Some(t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, stamp))
}

impl AsyncRead for Stamped {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.inner.poll_read_ready(cx))?;
            let fd = this.inner.as_raw_fd();
            // SAFETY: recvmsg only writes initialised bytes, and only the first n.
            let unfilled = unsafe { buf.unfilled_mut() };
            match this
                .inner
                .try_io(Interest::READABLE, || recv_stamped(fd, unfilled))
            {
                Ok((n, stamp)) => {
                    // SAFETY: the kernel wrote n bytes into the unfilled part.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    if n > 0 && stamp.is_some() {
                        this.last_rx_ns = stamp;
                    }
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Stamped {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
