//! The algorithm of a profile's USIM, chosen at run time from the profile's AKA
//! parameters: Milenage or the TS 34.108 test algorithm, behind one [`AkaFunctions`].

use super::milenage::Milenage;
use super::test_xor::TestXor;
use super::{AkaFunctions, Amf, Outputs, Rand, Sqn};

/// The algorithm of a profile's USIM (SAIP `AlgoParameter.algorithmID`: milenage(1),
/// usim-test-algorithm(3); TUAK (2) is not implemented).
#[derive(Debug, Clone)]
pub enum Algorithm {
    /// Boxed: the AES key schedule makes it large.
    Milenage(Box<Milenage>),
    TestXor(TestXor),
}

impl From<Milenage> for Algorithm {
    fn from(m: Milenage) -> Self {
        Self::Milenage(Box::new(m))
    }
}

impl From<TestXor> for Algorithm {
    fn from(x: TestXor) -> Self {
        Self::TestXor(x)
    }
}

impl AkaFunctions for Algorithm {
    fn f1(&self, rand: &Rand, sqn: Sqn, amf: &Amf) -> [u8; 8] {
        match self {
            Self::Milenage(m) => m.f1(rand, sqn, amf),
            Self::TestXor(x) => x.f1(rand, sqn, amf),
        }
    }
    fn f1_star(&self, rand: &Rand, sqn: Sqn, amf: &Amf) -> [u8; 8] {
        match self {
            Self::Milenage(m) => m.f1_star(rand, sqn, amf),
            Self::TestXor(x) => x.f1_star(rand, sqn, amf),
        }
    }
    fn f2345(&self, rand: &Rand) -> Outputs {
        match self {
            Self::Milenage(m) => m.f2345(rand),
            Self::TestXor(x) => x.f2345(rand),
        }
    }
    fn f5_star(&self, rand: &Rand) -> [u8; 6] {
        match self {
            Self::Milenage(m) => m.f5_star(rand),
            Self::TestXor(x) => x.f5_star(rand),
        }
    }
}
