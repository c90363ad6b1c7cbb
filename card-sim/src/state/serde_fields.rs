//! Serde forms of the state file's fields that are not plain JSON values: an ICCID as its
//! decimal digits (optional or not) and bytes as upper-case hex. Used by `profile.rs` and
//! `notification.rs` through `#[serde(with = ...)]`.

/// Serde for an [`Iccid`] as its decimal digits.
pub mod iccid_digits {
    use apdu::sgp22::es10::Iccid;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(i: &Iccid, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&i.digits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Iccid, D::Error> {
        let s = String::deserialize(d)?;
        Iccid::from_digits(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde for an optional [`Iccid`] as its decimal digits.
pub mod opt_iccid_digits {
    use apdu::sgp22::es10::Iccid;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(i: &Option<Iccid>, s: S) -> Result<S::Ok, S::Error> {
        match i {
            Some(i) => s.serialize_str(&i.digits()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Iccid>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| Iccid::from_digits(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Serde for bytes as upper-case hex.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode_upper(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(&s).map_err(serde::de::Error::custom)
    }
}
