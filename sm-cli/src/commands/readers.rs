//! `sm-cli readers`: every reader pcscd knows, whether a card is in it, and its ATR.
//! It connects to no card, so it never disturbs one.

use crate::context::App;
use crate::errors::CliError;
use crate::output::{listing, Report};
use crate::reader::{Pcsc, ReaderInfo};
use serde::Serialize;

#[derive(Serialize)]
struct Readers {
    readers: Vec<ReaderInfo>,
}

fn card_column(r: &ReaderInfo) -> String {
    let mut s = if r.mute {
        "mute".to_string()
    } else if r.card_present {
        "present".to_string()
    } else {
        "absent".to_string()
    };
    if r.exclusive {
        s.push_str(", held exclusively");
    }
    s
}

impl Report for Readers {
    fn human(&self) -> String {
        listing(
            &self.readers,
            "No readers. Start card-sim (vpcd readers appear while pcscd runs), \
             or plug in a reader.",
            &["#", "READER", "CARD", "ATR"],
            |r| {
                vec![
                    r.index.to_string(),
                    r.name.clone(),
                    card_column(r),
                    r.atr.as_ref().map(hex::encode_upper).unwrap_or_default(),
                ]
            },
        )
    }
}

pub fn run(app: &App) -> Result<(), CliError> {
    let readers = Pcsc::establish()?.readers()?;
    app.out.emit(&Readers { readers })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_listing() {
        let r = Readers {
            readers: vec![
                ReaderInfo {
                    index: 0,
                    name: "Virtual PCD 00 00".into(),
                    card_present: true,
                    atr: Some(vec![0x3B, 0x80, 0x80, 0x01, 0x01]),
                    exclusive: false,
                    mute: false,
                },
                ReaderInfo {
                    index: 1,
                    name: "Virtual PCD 00 01".into(),
                    card_present: false,
                    atr: None,
                    exclusive: false,
                    mute: false,
                },
            ],
        };
        assert_eq!(
            r.human(),
            "#  READER             CARD     ATR\n\
             0  Virtual PCD 00 00  present  3B80800101\n\
             1  Virtual PCD 00 01  absent"
        );
        let j = crate::output::render(true, &r);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["readers"][0]["atr"], "3B80800101");
        assert!(v["readers"][1]["atr"].is_null());
    }
}
