//! A real SMTP server for the notification tests: a small RFC 5321 receiver on tokio that
//! speaks what a client such as lettre needs (EHLO/HELO, MAIL, RCPT, DATA with dot-stuffing,
//! RSET, NOOP, QUIT) and keeps every message it accepts. It listens on a port of its own,
//! can be stopped (connections are then refused, as when a mail server is down) and started
//! again on the same port, and can refuse chosen recipients for good (550), as a server does
//! for an address it does not know.
//!
//! Received messages are read with `mail-parser`, as a mail client would: recipients from the
//! envelope, subject and decoded plain-text and HTML bodies.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope's recipients (`RCPT TO`).
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    refused: Vec<String>,
}

/// The server.
pub struct SmtpServer {
    port: u16,
    shared: Arc<Mutex<Shared>>,
    accepting: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// Starts on a free local port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port for the SMTP server");
        let port = listener.local_addr().expect("its address").port();
        let mut server = Self {
            port,
            shared: Arc::default(),
            accepting: None,
        };
        server.accept_on(listener);
        server
    }

    /// `smtp://127.0.0.1:<port>`, for `MEDOPT_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops listening: new connections are refused.
    pub fn stop(&mut self) {
        if let Some(task) = self.accepting.take() {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        // The aborted task drops its listener when it next runs; try until the port is free.
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(_) if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => panic!("the SMTP server could not listen again: {e}"),
            }
        };
        self.accept_on(listener);
    }

    /// Refuses mail for `address` with a permanent error.
    pub fn refuse(&self, address: &str) {
        self.shared
            .lock()
            .expect("lock")
            .refused
            .push(address.to_lowercase());
    }

    /// Every message received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().expect("lock").received.clone()
    }

    /// The messages received for `address`.
    pub fn received_by(&self, address: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    fn accept_on(&mut self, listener: TcpListener) {
        let shared = self.shared.clone();
        self.accepting = Some(tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(converse(stream, shared.clone()));
            }
        }));
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `<a@b>` (with or without the brackets, and any parameters after) → `a@b`.
fn path_of(argument: &str) -> String {
    let argument = argument.trim();
    let inner = argument
        .strip_prefix('<')
        .and_then(|rest| rest.split_once('>').map(|(inner, _)| inner))
        .unwrap_or_else(|| argument.split_whitespace().next().unwrap_or_default());
    inner.to_owned()
}

/// One client's session.
async fn converse(stream: TcpStream, shared: Arc<Mutex<Shared>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 medopt-test ESMTP\r\n").await.is_err() {
        return;
    }
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end();
        let upper = command.to_ascii_uppercase();
        let answer: String = if upper.starts_with("EHLO") {
            "250-medopt-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".into()
        } else if upper.starts_with("HELO") {
            "250 medopt-test\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            to.clear();
            "250 2.1.0 OK\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            let address = path_of(&command["RCPT TO:".len()..]);
            let refused = shared
                .lock()
                .expect("lock")
                .refused
                .contains(&address.to_lowercase());
            if refused {
                "550 5.1.1 No such user here\r\n".into()
            } else {
                to.push(address);
                "250 2.1.5 OK\r\n".into()
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                "554 5.5.1 No valid recipients\r\n".into()
            } else {
                if write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let mut data = Vec::new();
                loop {
                    let mut raw = Vec::new();
                    match lines.read_until(b'\n', &mut raw).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if raw == b".\r\n" || raw == b".\n" {
                        break;
                    }
                    // Dot-stuffing: a leading dot was doubled by the client.
                    let unstuffed = raw.strip_prefix(b".").unwrap_or(&raw);
                    data.extend_from_slice(unstuffed);
                }
                let message = parse(std::mem::take(&mut to), &data);
                shared.lock().expect("lock").received.push(message);
                "250 2.0.0 Queued\r\n".into()
            }
        } else if upper == "RSET" {
            to.clear();
            "250 2.0.0 OK\r\n".into()
        } else if upper == "NOOP" {
            "250 2.0.0 OK\r\n".into()
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
            return;
        } else {
            "502 5.5.2 Command not recognised\r\n".into()
        };
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn parse(to: Vec<String>, data: &[u8]) -> Received {
    let message = mail_parser::MessageParser::default()
        .parse(data)
        .expect("the client sent a message that parses");
    Received {
        to,
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        html: message
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
    }
}
