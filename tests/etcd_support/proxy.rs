//! A proxy in front of one etcd member that loses what a test tells it to:
//! the answer to a transaction the member did apply, or the transaction
//! itself, each time after running a hook (another writer's change). It
//! speaks just enough HTTP/1.1 for the client's requests and the gateway's
//! answers (`Content-Length` or chunked bodies).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the proxy does with the next transaction.
pub enum Loss {
    /// Forwards it, waits for the member's answer, runs the hook, and
    /// closes the client's connection instead of answering.
    Answer(Box<dyn FnOnce() + Send>),
    /// Runs the hook and closes the client's connection without forwarding.
    Request(Box<dyn FnOnce() + Send>),
}

/// The proxy; it runs until the test process ends.
pub struct LossyProxy {
    /// `127.0.0.1:port` to give the client.
    pub endpoint: String,
    /// Losses still to inflict, in order, one per transaction.
    losses: Arc<Mutex<VecDeque<Loss>>>,
}

impl LossyProxy {
    /// Listens on a free loopback port and forwards to `member`.
    pub fn start(member: &str) -> LossyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = listener.local_addr().unwrap().to_string();
        let losses: Arc<Mutex<VecDeque<Loss>>> = Arc::default();
        let (member, shared) = (member.to_owned(), Arc::clone(&losses));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (member, losses) = (member.clone(), Arc::clone(&shared));
                std::thread::spawn(move || {
                    let _ = serve(client, &member, &losses);
                });
            }
        });
        LossyProxy { endpoint, losses }
    }

    /// Inflicts `loss` on the next transaction that passes.
    pub fn lose(&self, loss: Loss) {
        self.losses.lock().unwrap().push_back(loss);
    }

    /// Losses not inflicted yet.
    pub fn pending(&self) -> usize {
        self.losses.lock().unwrap().len()
    }
}

/// Relays one client connection, request by request.
fn serve(mut client: TcpStream, member: &str, losses: &Mutex<VecDeque<Loss>>) -> io::Result<()> {
    let mut upstream = TcpStream::connect(member)?;
    loop {
        let request = read_message(&mut client, true)?;
        let is_txn = request.starts_with(b"POST /v3/kv/txn ");
        let loss = if is_txn {
            losses.lock().unwrap().pop_front()
        } else {
            None
        };
        match loss {
            None => {
                upstream.write_all(&request)?;
                let answer = read_message(&mut upstream, false)?;
                client.write_all(&answer)?;
            }
            Some(Loss::Answer(hook)) => {
                upstream.write_all(&request)?;
                read_message(&mut upstream, false)?;
                hook();
                return Ok(());
            }
            Some(Loss::Request(hook)) => {
                hook();
                return Ok(());
            }
        }
    }
}

/// Reads one HTTP/1.1 message: headers, then a body of `Content-Length`
/// bytes or chunks up to the last one.
fn read_message(stream: &mut TcpStream, request: bool) -> io::Result<Vec<u8>> {
    let mut message = Vec::new();
    let mut byte = [0u8; 1];
    while !message.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        message.push(byte[0]);
    }
    let headers = String::from_utf8_lossy(&message).to_ascii_lowercase();
    let length = headers
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok());
    if let Some(length) = length {
        let start = message.len();
        message.resize(start + length, 0);
        stream.read_exact(&mut message[start..])?;
    } else if headers.contains("transfer-encoding: chunked") {
        while !message.ends_with(b"\r\n0\r\n\r\n") {
            if stream.read(&mut byte)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            message.push(byte[0]);
        }
    } else if !request {
        return Err(io::Error::other("an answer without a length"));
    }
    Ok(message)
}
