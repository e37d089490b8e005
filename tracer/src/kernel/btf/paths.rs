//! Member paths through kernel structures, for D's `curthread->a->b.c`:
//! each `->` reads a pointer, each `.` moves within a structure, and the
//! last member is an integer or a `char` array (a string), all typed by
//! the kernel's BTF.

use super::{kind, u32_at, Btf, BtfError};

/// What a member path reads, from a `struct task_struct *`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPath {
    /// Offsets at which to read a pointer, in order: after each read the
    /// pointer read is the new base.
    pub derefs: Vec<u32>,
    /// Offset of the last member from the last base.
    pub offset: u32,
    /// What the last member is.
    pub value: MemberValue,
}

/// The type of the last member of a [`MemberPath`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberValue {
    /// An integer, enum or pointer of `size` bytes.
    Int {
        /// Bytes: 1, 2, 4 or 8.
        size: u8,
        /// Signed.
        signed: bool,
    },
    /// A `char` array of `len` bytes: a string.
    Chars {
        /// Its length.
        len: u32,
    },
}

impl Btf {
    /// The path `steps` (`(arrow, member)`, `arrow` for `->`) from a
    /// pointer to `struct root`.
    pub fn member_path(&self, root: &str, steps: &[(bool, String)]) -> Result<MemberPath, BtfError> {
        let mut ty = self
            .by_name
            .get(&(kind::STRUCT, root.to_string()))
            .copied()
            .ok_or_else(|| BtfError::Missing(format!("struct {root}")))?;
        // `ty` is a pointer to `struct root` before the first step.
        let mut pointer = true;
        let mut shown = format!("struct {root} *");
        let mut path = MemberPath { derefs: Vec::new(), offset: 0, value: MemberValue::Int { size: 8, signed: false } };
        for (i, (arrow, member)) in steps.iter().enumerate() {
            if *arrow != pointer {
                let want = if pointer { "->" } else { "." };
                return Err(BtfError::Path(format!("`{member}` is reached with `{want}` here ({shown})")));
            }
            if *arrow && i > 0 {
                path.derefs.push(path.offset);
                path.offset = 0;
            }
            let (bits, member_ty, bitfield) = self
                .typed_member(ty, member, 0)
                .ok_or_else(|| BtfError::Missing(format!("member `{member}` in {}", shown.trim_end_matches(" *"))))?;
            if bitfield || bits % 8 != 0 {
                return Err(BtfError::Path(format!("`{member}` is a bit field, which cannot be read yet")));
            }
            path.offset += bits / 8;
            let resolved = self.resolve(member_ty);
            let rec = self.rec(resolved);
            match rec.map(|r| r.kind) {
                Some(kind::PTR) => {
                    let target = self.resolve(rec.expect("matched").size_or_type);
                    match self.rec(target) {
                        Some(t) if matches!(t.kind, kind::STRUCT | kind::UNION) => {
                            ty = target;
                            pointer = true;
                            shown = format!("{} *", self.type_name(target));
                        }
                        _ => {
                            ty = 0;
                            pointer = false;
                            shown = "a pointer to no structure".into();
                        }
                    }
                    path.value = MemberValue::Int { size: 8, signed: false };
                }
                Some(kind::STRUCT | kind::UNION) => {
                    ty = resolved;
                    pointer = false;
                    shown = self.type_name(resolved);
                    path.value = MemberValue::Int { size: 0, signed: false };
                }
                Some(kind::INT) => {
                    let r = rec.expect("matched");
                    let encoding = u32_at(&self.types, r.at + 12)?;
                    let size = r.size_or_type as u8;
                    path.value = MemberValue::Int { size, signed: encoding & 0x0100_0000 != 0 };
                    ty = 0;
                    pointer = false;
                    shown = format!("an integer (`{member}`)");
                }
                Some(kind::ENUM | kind::ENUM64) => {
                    let r = rec.expect("matched");
                    path.value = MemberValue::Int { size: r.size_or_type as u8, signed: r.kind_flag };
                    ty = 0;
                    pointer = false;
                    shown = format!("an enum (`{member}`)");
                }
                Some(kind::ARRAY) => {
                    let r = rec.expect("matched");
                    let elem = self.resolve(u32_at(&self.types, r.at + 12)?);
                    let len = u32_at(&self.types, r.at + 20)?;
                    let char_elem = self.rec(elem).is_some_and(|e| e.kind == kind::INT && e.size_or_type == 1);
                    if !char_elem {
                        return Err(BtfError::Path(format!(
                            "`{member}` is an array of other than char, which cannot be read yet"
                        )));
                    }
                    path.value = MemberValue::Chars { len };
                    ty = 0;
                    pointer = false;
                    shown = format!("a char array (`{member}`)");
                }
                _ => return Err(BtfError::Path(format!("`{member}` has a type that cannot be read yet"))),
            }
        }
        if matches!(path.value, MemberValue::Int { size: 0, .. }) {
            return Err(BtfError::Path(format!("{shown} is a structure: name one of its members")));
        }
        if !matches!(path.value, MemberValue::Int { size: 1 | 2 | 4 | 8, .. } | MemberValue::Chars { .. }) {
            return Err(BtfError::Path("the path must end at an integer of 1, 2, 4 or 8 bytes or a char array".into()));
        }
        Ok(path)
    }

    /// `member` of struct or union `id` (through anonymous ones): its bit
    /// offset from `id`'s start, its type, and whether it is a bit field.
    pub(super) fn typed_member(&self, id: u32, member: &str, depth: u32) -> Option<(u32, u32, bool)> {
        let r = self.rec(id)?;
        if !matches!(r.kind, kind::STRUCT | kind::UNION) || depth > 8 {
            return None;
        }
        for m in 0..r.vlen as usize {
            let at = r.at + 12 + 12 * m;
            let name_off = u32_at(&self.types, at).ok()?;
            let ty = u32_at(&self.types, at + 4).ok()?;
            let raw = u32_at(&self.types, at + 8).ok()?;
            let (bits, bitfield) = if r.kind_flag { (raw & 0x00ff_ffff, raw >> 24 != 0) } else { (raw, false) };
            if name_off == 0 {
                if let Some((inner, t, b)) = self.typed_member(self.resolve(ty), member, depth + 1) {
                    return Some((bits + inner, t, b));
                }
            } else if self.str_at(name_off) == member {
                return Some((bits, ty, bitfield));
            }
        }
        None
    }

    /// `struct NAME` (or `union NAME`) of a type id, for messages.
    fn type_name(&self, id: u32) -> String {
        match self.rec(id) {
            Some(r) if r.kind == kind::UNION => format!("union {}", self.str_at(r.name_off)),
            Some(r) => format!("struct {}", self.str_at(r.name_off)),
            None => "void".into(),
        }
    }
}
