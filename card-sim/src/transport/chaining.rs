//! Command chaining (ISO/IEC 7816-4 §5.1.1.1): a command with CLA b5 set announces more
//! to come; the card answers `9000` and keeps the data until the last command of the
//! chain (b5 clear, same INS P1 P2), which the applet then sees as one command.

use super::{Applet, Transport};
use crate::state::volatile::Chain;
use apdu::iso7816::ins;
use apdu::{Cla, Command, StatusWord};

/// Largest command data a chain may build up.
pub const MAX_CHAIN: usize = apdu::sgp22::store_data::MAX_MESSAGE;

impl<A: Applet> Transport<A> {
    /// Feeds `cmd` through the chain of channel `idx`. Returns the whole command when it
    /// is complete, `None` while the chain goes on, or the SW that ends it.
    pub(super) fn chain(
        &mut self,
        idx: usize,
        cmd: Command,
    ) -> Result<Option<Command>, StatusWord> {
        let header = [cmd.cla.without_chaining().0, cmd.ins, cmd.p1, cmd.p2];
        let slot = &mut self.vol.channels[idx].chain;
        if cmd.cla.is_chained() {
            if matches!(cmd.ins, ins::GET_RESPONSE | ins::MANAGE_CHANNEL) {
                *slot = None;
                return Err(StatusWord::ChainingNotSupported);
            }
            let chain = slot.get_or_insert_with(|| Chain {
                header,
                data: Vec::new(),
            });
            if chain.header != header {
                *slot = None;
                return Err(StatusWord::LastCommandExpected);
            }
            if chain.data.len() + cmd.data.len() > MAX_CHAIN {
                *slot = None;
                return Err(StatusWord::WrongLength);
            }
            chain.data.extend_from_slice(&cmd.data);
            return Ok(None);
        }
        match slot.take() {
            None => Ok(Some(cmd)),
            Some(chain) if chain.header != header => Err(StatusWord::LastCommandExpected),
            Some(mut chain) => {
                if chain.data.len() + cmd.data.len() > MAX_CHAIN {
                    return Err(StatusWord::WrongLength);
                }
                chain.data.extend_from_slice(&cmd.data);
                Ok(Some(Command {
                    cla: Cla(header[0]),
                    data: chain.data,
                    ..cmd
                }))
            }
        }
    }
}
