"""The services' refusals in Indonesian, for the portal's pages.

The API speaks English (one error format for every client, ARCHITECTURE rule 6); the people who
use the portal read Indonesian. Every message a service can put in a refusal (marshmallow's own
messages, each schema's validators, the domain rules' messages) has its Indonesian form here.
A key is the English text with `{}` where the service puts a value; the Indonesian text takes
those values as `{0}`, `{1}`, ... in its own order. A value that is a known status or action word
is translated too. A message without a translation is shown as it came (never lost), and
tests/unit/gateway/test_portal_messages.py fails for every message of the services that has none.
"""
from __future__ import annotations

import re
from functools import lru_cache

TRANSLATIONS: dict[str, str] = {
    # marshmallow's own messages and its validators'
    "Missing data for required field.": "Wajib diisi.",
    "Field may not be null.": "Wajib diisi.",
    "Invalid type.": "Jenis isian tidak sesuai.",
    "Invalid value.": "Isian tidak sah.",
    "Invalid input type.": "Jenis isian tidak sesuai.",
    "Unknown field.": "Isian tidak dikenal.",
    "Not a valid string.": "Harus berupa teks.",
    "Not a valid utf-8 string.": "Teks tidak terbaca (bukan UTF-8).",
    "Not a valid integer.": "Harus bilangan bulat.",
    "Not a valid number.": "Harus angka.",
    "Number too large.": "Angkanya terlalu besar.",
    "Special numeric values (nan or infinity) are not permitted.": "Harus angka biasa.",
    "Not a valid boolean.": "Pilih ya atau tidak.",
    "Not a valid date.": "Tanggal tidak sah (tttt-bb-hh).",
    "Not a valid {}.": "Isian tidak sah ({0}).",
    "Not a valid {} {}.": "Isian tidak sah ({1}).",
    "\"{}\" cannot be formatted as a date.": "\"{0}\" tidak dapat dibaca sebagai tanggal.",
    "\"{}\" cannot be formatted as a {}.": "\"{0}\" tidak dapat dibaca sebagai {1}.",
    "Not a valid list.": "Harus berupa daftar.",
    "Not a valid mapping type.": "Harus berupa kumpulan isian.",
    "Not a valid UUID.": "Kode tidak sah.",
    "Not a valid email address.": "Alamat email tidak sah.",
    "Not a valid URL.": "Alamat web (URL) tidak sah.",
    "Must be one of: {}.": "Pilih salah satu: {0}.",
    "String does not match expected pattern.": "Bentuknya tidak sesuai.",
    "Shorter than minimum length {}.": "Paling sedikit {0} karakter.",
    "Longer than maximum length {}.": "Paling banyak {0} karakter.",
    "Length must be between {} and {}.": "Panjangnya {0} sampai {1} karakter.",
    "Length must be {}.": "Panjangnya harus {0} karakter.",
    "Must be greater than or equal to {}.": "Paling kecil {0}.",
    "Must be greater than {}.": "Harus lebih dari {0}.",
    "Must be less than or equal to {}.": "Paling besar {0}.",
    "Must be less than {}.": "Harus kurang dari {0}.",
    "Must be greater than or equal to {} and less than or equal to {}.": "Antara {0} dan {1}.",
    "Must be greater than {} and less than {}.": "Lebih dari {0} dan kurang dari {1}.",
    # the services' own field rules
    "NIK must be 16 digits.": "NIK harus 16 angka.",
    "Must be a 16-digit NIK or a temporary number.": "Harus NIK 16 angka atau nomor sementara.",
    "PIN is 6 digits.": "PIN terdiri dari 6 angka.",
    "Not a phone number.": "Bukan nomor telepon.",
    "Must look like 36.04.05.2001.": "Bentuknya seperti 36.04.05.2001.",
    "Must look like 36.04.05.": "Bentuknya seperti 36.04.05.",
    "Looks like 02.03.01.": "Bentuknya seperti 02.03.01.",
    "Looks like 5.2.1 or 5.2.1.01.": "Bentuknya seperti 5.2.1 atau 5.2.1.01.",
    "A source code such as DDS.": "Kode sumber dana, misalnya DDS.",
    "An NTPN is 16 letters or digits.": "NTPN terdiri dari 16 huruf atau angka.",
    "An NIB is 13 digits.": "NIB terdiri dari 13 angka.",
    "A KBLI code is 5 digits.": "Kode KBLI terdiri dari 5 angka.",
    "Time as HH:MM.": "Jam ditulis JJ:MM.",
    "3-64 characters: lower-case letters, digits, '.', '_' or '-'.":
        "3-64 karakter: huruf kecil, angka, '.', '_' atau '-'.",
    "A name needs at least one letter.": "Nama harus berisi paling sedikit satu huruf.",
    "Contains characters a letter cannot print: {}. Use Latin letters, digits and punctuation.":
        "Ada karakter yang tidak dapat dicetak di surat: {0}. Pakai huruf Latin, angka dan "
        "tanda baca.",
    "Names are written as in the population register: Latin letters, spaces and ' . , - only "
    "(not allowed: {}).":
        "Nama ditulis seperti di data kependudukan: hanya huruf Latin, spasi dan ' . , - "
        "(tidak boleh: {0}).",
    "Must be a number from 1 to 999 (e.g. \"001\").": "Harus angka 1 sampai 999 (mis. \"001\").",
    "Must not be blank.": "Tidak boleh kosong.",
    "Required.": "Wajib diisi.",
    "Required for role {}.": "Wajib untuk peran {0}.",
    "Required with family_number (SHDK 1..11).": "Wajib bila No. KK diisi (SHDK 1..11).",
    "Required with relationship.": "Wajib bila hubungan keluarga diisi.",
    "Role {} is not bound to a district.": "Peran {0} tidak terikat pada kecamatan.",
    "Role {} is not bound to a village.": "Peran {0} tidak terikat pada desa.",
    "Give username + password or nik + pin, not both.":
        "Isi nama pengguna + kata sandi atau NIK + PIN, jangan keduanya.",
    "Give username + password or nik + pin.": "Isi nama pengguna + kata sandi atau NIK + PIN.",
    "Nothing to change.": "Tidak ada yang diubah.",
    "Must not be after 'to'.": "Tidak boleh sesudah tanggal akhir.",
    "must not be after 'to'": "Tidak boleh sesudah tanggal akhir.",
    "Before valid_from.": "Sebelum tanggal mulai berlaku.",
    "Not an object.": "Harus berupa kumpulan isian.",
    "Input must be an object": "Isian harus berupa kumpulan isian.",
    "Unknown.": "Tidak dikenal.",
    "Already taken.": "Sudah dipakai.",
    "unknown: {}": "tidak dikenal: {0}",
    "allowed: {}": "yang boleh: {0}",
    "one of {}": "salah satu dari {0}",
    "expected one of {}": "seharusnya salah satu dari {0}",
    "{} is listed twice.": "{0} tercantum dua kali.",
    # residents, family cards and life events (registry)
    "NIK must be exactly 16 digits": "NIK harus tepat 16 angka.",
    "NIK serial (last 4 digits) cannot be 0000": "Nomor urut NIK (4 angka terakhir) tidak boleh "
                                                 "0000.",
    "NIK date {} is not a real date": "Tanggal pada NIK ({0}) bukan tanggal yang ada.",
    "NIK day {} is not a day (women have day + 40: 41-71)":
        "Hari pada NIK ({0}) bukan hari (perempuan: hari + 40, 41-71).",
    "NIK month {} is not a month": "Bulan pada NIK ({0}) bukan bulan.",
    "sex {} does not match the NIK, whose day says {}":
        "Jenis kelamin {0} tidak sesuai dengan NIK, yang harinya menunjukkan {1}.",
    "birth date {} does not match the NIK date part {} (DDMMYY, women day + 40)":
        "Tanggal lahir {0} tidak sesuai dengan bagian tanggal NIK {1} (HHBBTT, perempuan hari "
        "+ 40).",
    "No. KK must be exactly 16 digits": "No. KK harus tepat 16 angka.",
    "No. KK serial (last 4 digits) cannot be 0000": "Nomor urut No. KK (4 angka terakhir) tidak "
                                                    "boleh 0000.",
    "No. KK registration date {} (DDMMYY) is not a real date":
        "Tanggal pendaftaran pada No. KK ({0}, HHBBTT) bukan tanggal yang ada.",
    "No. KK registration date {} is not plausible (in the future or before 1971)":
        "Tanggal pendaftaran pada No. KK ({0}) tidak masuk akal (di masa depan atau sebelum "
        "1971).",
    "temporary number serial {} out of range 1..999999":
        "Nomor urut sementara {0} di luar 1..999999.",
    "village code {} is not PP.RR.DD.VVVV": "Kode desa {0} bukan bentuk PP.RR.DD.VVVV.",
    "{} is not a temporary village number": "{0} bukan nomor sementara desa.",
    "A NIK never changes": "NIK tidak pernah berubah.",
    "The NIK of a record never changes; only a temporary village number is replaced, once.":
        "NIK sebuah data tidak pernah berubah; hanya nomor sementara desa yang diganti, sekali.",
    "This NIK is already registered": "NIK ini sudah terdaftar.",
    "This No. KK is already registered.": "No. KK ini sudah terdaftar.",
    "Family card {} is already registered": "Kartu keluarga {0} sudah terdaftar.",
    "Birth date is in the future.": "Tanggal lahir ada di masa depan.",
    "The family already has a head": "Keluarga ini sudah mempunyai kepala keluarga.",
    "The family already has a head (SHDK 1).": "Keluarga ini sudah mempunyai kepala keluarga "
                                               "(SHDK 1).",
    "The family card belongs to another village": "Kartu keluarga ini milik desa lain.",
    "Family card of another village.": "Kartu keluarga desa lain.",
    "The resident is already a member of another family card":
        "Penduduk ini sudah menjadi anggota kartu keluarga lain.",
    "Already a member of another family card; end that membership first.":
        "Sudah menjadi anggota kartu keluarga lain; akhiri dulu keanggotaan itu.",
    "Membership cannot end before it started": "Keanggotaan tidak dapat berakhir sebelum dimulai.",
    "No such family card: register its head (relationship 1) first.":
        "Kartu keluarga ini belum ada: daftarkan dulu kepala keluarganya (hubungan 1).",
    "The head is added by head_nik; do not list them again.":
        "Kepala keluarga sudah diisi lewat NIK kepala keluarga; jangan dicantumkan lagi.",
    "A resident is listed twice.": "Ada penduduk yang tercantum dua kali.",
    "Only the head has relationship 1.": "Hanya kepala keluarga yang berhubungan 1.",
    "relationship must be an SHDK code 1..11, not {}":
        "Hubungan keluarga harus kode SHDK 1..11, bukan {0}.",
    "unknown relationship {}: use SHDK 1..11 or its name":
        "Hubungan keluarga {0} tidak dikenal: pakai SHDK 1..11 atau namanya.",
    "Resident of another village.": "Penduduk desa lain.",
    "The resident lives in another village": "Penduduk ini tinggal di desa lain.",
    "No resident with this NIK in the village": "Tidak ada penduduk dengan NIK ini di desa ini.",
    "No resident with this NIK in the village.": "Tidak ada penduduk dengan NIK ini di desa ini.",
    "No family card with this number in this village":
        "Tidak ada kartu keluarga dengan nomor ini di desa ini.",
    "Resident is {}.": "Penduduk berstatus {0}.",
    "The resident is {}": "Penduduk berstatus {0}.",
    "unknown life event {}": "Peristiwa {0} tidak dikenal.",
    "the event date is in the future": "Tanggal peristiwa ada di masa depan.",
    "the report date is in the future": "Tanggal laporan ada di masa depan.",
    "the report date is before the event date": "Tanggal laporan sebelum tanggal peristiwa.",
    "The child's birth date is the event date": "Tanggal lahir anak adalah tanggal peristiwa.",
    "a birth needs a parent living in the village, not {}":
        "Kelahiran memerlukan orang tua yang tinggal di desa ini, bukan {0}.",
    "the resident has already moved out": "Penduduk ini sudah pindah keluar.",
    "the resident is already recorded as missing": "Penduduk ini sudah tercatat hilang.",
    "the resident is recorded as dead; no further life events":
        "Penduduk ini tercatat meninggal; tidak ada peristiwa lagi.",
    "the resident moved out and cannot go missing here":
        "Penduduk ini sudah pindah dan tidak dapat dicatat hilang di sini.",
    "the resident moved out; their death is recorded where they live now":
        "Penduduk ini sudah pindah; kematiannya dicatat di tempat tinggalnya sekarang.",
    "move in is only for a resident who moved out (status is {}); register a newcomer instead":
        "Pindah datang hanya untuk penduduk yang pernah pindah keluar (statusnya {0}); "
        "daftarkan sebagai pendatang baru.",
    "Too many failed logins; try again later": "Terlalu banyak percobaan masuk yang gagal; "
                                               "coba lagi nanti.",
    "Username {} is taken": "Nama pengguna {0} sudah dipakai.",
    "Unknown district": "Kecamatan tidak dikenal.",
    "Unknown village": "Desa tidak dikenal.",
    "Unknown village.": "Desa tidak dikenal.",
    "No village of the regency is in this district.": "Tidak ada desa kabupaten ini di "
                                                      "kecamatan ini.",
    "Invalid actor": "Pengguna tidak sah.",
    "Invalid batch": "Kumpulan permintaan tidak sah.",
    "A list of objects.": "Harus berupa daftar objek.",
    "At most {} items.": "Paling banyak {0} butir.",
    "Invalid read": "Permintaan baca tidak sah.",
    "A string.": "Harus berupa teks.",
    "A string or null.": "Harus berupa teks atau kosong.",
    "Your role may not {}.": "Peran Anda tidak boleh {0}.",
    # staff accounts
    "Your role may not manage accounts.": "Peran Anda tidak boleh mengelola akun.",
    "Your role may not create {} accounts.": "Peran Anda tidak boleh membuat akun {0}.",
    "Not one of {}.": "Bukan salah satu dari: {0}.",
    "Not your village.": "Bukan desa Anda.",
    "You may only act in your own village.": "Anda hanya boleh bertindak di desa Anda sendiri.",
    "You may not disable your own account.": "Anda tidak boleh menonaktifkan akun Anda sendiri.",
    "Change your own password with your current one, not by a reset.":
        "Ganti kata sandi Anda sendiri dengan kata sandi saat ini, bukan dengan reset.",
    "The current password is wrong": "Kata sandi saat ini salah.",
    "The current password is wrong; locked for a while":
        "Kata sandi saat ini salah; akun dikunci sementara.",
    "Must differ from the current password.": "Harus berbeda dari kata sandi saat ini.",
    # CSV import and uploads
    "CSV has errors; nothing imported": "Berkas CSV berisi kesalahan; tidak ada yang diimpor.",
    "The file has errors; nothing imported": "Berkas berisi kesalahan; tidak ada yang diimpor.",
    "CSV must be text": "Berkas CSV harus berupa teks.",
    "Send the CSV as text.": "Kirim berkas CSV sebagai teks.",
    "The CSV file is empty.": "Berkas CSV kosong.",
    "A NIK or No. KK of the file was registered meanwhile; nothing imported":
        "Sebuah NIK atau No. KK dari berkas ini baru saja didaftarkan; tidak ada yang diimpor.",
    "Registered meanwhile; check the file again.": "Baru saja didaftarkan; periksa lagi "
                                                   "berkasnya.",
    "A resident with this NIK is already registered.": "Penduduk dengan NIK ini sudah "
                                                       "terdaftar.",
    "Column {} appears twice.": "Kolom {0} muncul dua kali.",
    "Unknown column {} {}.": "Kolom ke-{0} {1} tidak dikenal.",
    "Required column {} is missing.": "Kolom wajib {0} tidak ada.",
    "More than {} rows; split the file.": "Lebih dari {0} baris; pecah berkasnya.",
    "{} cells but {} columns.": "{0} sel, padahal ada {1} kolom.",
    "No data rows under the header.": "Tidak ada baris data di bawah judul kolom.",
    "Same NIK as line {}.": "NIK sama dengan baris {0}.",
    "Family card {} has no head (SHDK 1).": "Kartu keluarga {0} tidak mempunyai kepala "
                                            "keluarga (SHDK 1).",
    "Family card {} already has a head on line {}.": "Kartu keluarga {0} sudah mempunyai "
                                                     "kepala keluarga di baris {1}.",
    "The import failed; nothing imported.": "Impor gagal; tidak ada yang diimpor.",
    "The import stopped {} times; nothing imported.": "Impor terhenti {0} kali; tidak ada yang "
                                                      "diimpor.",
    "Amounts are whole rupiah (digits only).": "Jumlah ditulis dalam rupiah bulat (angka saja).",
    "missing column": "Kolom tidak ada.",
    "at most {} rows": "Paling banyak {0} baris.",
    "Listed twice.": "Tercantum dua kali.",
    "Must equal the event date.": "Harus sama dengan tanggal peristiwa.",
    "The file is empty.": "Berkas kosong.",
    "Empty file.": "Berkas kosong.",
    "empty file": "Berkas kosong.",
    "the file is empty": "Berkas kosong.",
    "The file is not base64": "Berkas tidak terbaca (bukan base64).",
    "Not base64.": "Tidak terbaca (bukan base64).",
    "File content is {}.": "Isi berkas adalah {0}.",
    "file content is {}": "Isi berkas adalah {0}.",
    "only {} files are accepted": "Hanya berkas {0} yang diterima.",
    "At most {} bytes.": "Paling besar {0} bita.",
    "at most {} bytes": "Paling besar {0} bita.",
    "the file is larger than {} MB": "Berkas lebih besar dari {0} MB.",
    "The uploaded file was not found": "Berkas yang diunggah tidak ditemukan.",
    "the uploaded file was not found": "Berkas yang diunggah tidak ditemukan.",
    "No such object.": "Berkas tidak ada.",
    "no such object": "Berkas tidak ada.",
    "Only JPEG, PNG or WebP photos are accepted.": "Hanya foto JPEG, PNG atau WebP yang diterima.",
    "The photo cannot be read as an image.": "Foto tidak dapat dibaca sebagai gambar.",
    "The photo is larger than {} bytes.": "Foto lebih besar dari {0} bita.",
    "Not a photo key of this village": "Bukan foto desa ini.",
    "Unknown photo_id.": "Foto tidak dikenal.",
    "An official's photo is not a photo of this profile.":
        "Foto perangkat desa bukan foto profil ini.",
    "Document storage is unavailable; try again shortly.":
        "Penyimpanan dokumen sedang tidak tersedia; coba lagi sebentar lagi.",
    # letters
    "unknown resident": "Penduduk tidak dikenal.",
    "subject_nik is required": "NIK yang bersangkutan wajib diisi.",
    "invalid letter fields": "Isian surat tidak sah.",
    "purpose is required for this letter": "Keperluan wajib diisi untuk surat ini.",
    "a reason is required": "Alasan wajib diisi.",
    "A reason is required.": "Alasan wajib diisi.",
    "resident is {}": "Penduduk berstatus {0}.",
    "resident is not recorded as dead": "Penduduk tidak tercatat meninggal.",
    "a death letter can only be made for a resident recorded as dead":
        "Surat kematian hanya untuk penduduk yang tercatat meninggal.",
    "the resident is recorded as {}; letters can no longer be requested for them":
        "Penduduk tercatat {0}; surat tidak dapat lagi diajukan untuknya.",
    "residents may only request letters about themselves":
        "Warga hanya boleh mengajukan surat tentang dirinya sendiri.",
    "role {} may not request letters": "Peran {0} tidak boleh mengajukan surat.",
    "role {} may not {}": "Peran {0} tidak boleh {1}.",
    "role {} may not {} a letter": "Peran {0} tidak boleh {1} surat.",
    "cannot {} a letter that is {}": "Tidak dapat {0} surat yang berstatus {1}.",
    "this letter is made by the village office, not requested by residents":
        "Surat ini dibuat oleh kantor desa, tidak diajukan oleh warga.",
    "switched off in this village": "Tidak dilayani di desa ini.",
    "{} is not offered by this village": "{0} tidak dilayani desa ini.",
    "only the village office may configure letter types":
        "Hanya kantor desa yang boleh mengatur jenis surat.",
    "attachments can only be added before signing (status {})":
        "Lampiran hanya dapat ditambahkan sebelum ditandatangani (status {0}).",
    "invalid attachment key": "Lampiran tidak sah.",
    "not this letter's": "Bukan lampiran surat ini.",
    "only a signed letter waits for its PDF (status {})":
        "Hanya surat yang sudah ditandatangani yang menunggu PDF-nya (status {0}).",
    "the letter has no PDF yet (status {})": "Surat ini belum mempunyai PDF (status {0}).",
    "no free letter number found; check the village number format":
        "Tidak ada nomor surat yang kosong; periksa format nomor surat desa.",
    "letter number format is invalid: {}": "Format nomor surat tidak sah: {0}",
    "letter number format must contain {seq}": "Format nomor surat harus memuat {seq}.",
    "letter number format must contain {year}: numbering restarts every year":
        "Format nomor surat harus memuat {year}: penomoran mulai lagi setiap tahun.",
    "missing {seq}": "{seq} belum ada",
    "missing {year}": "{year} belum ada",
    "the template has a brace that is not a placeholder":
        "Templat berisi kurung kurawal yang bukan tempat isian.",
    "the template uses unknown placeholders": "Templat memakai tempat isian yang tidak dikenal.",
    "use {name} placeholders only": "Pakai tempat isian {name} saja.",
    "the template was changed at the same time; try again":
        "Templat diubah pada saat yang sama; coba lagi.",
    "village {} is not known to the letters service yet":
        "Desa {0} belum dikenal oleh layanan surat.",
    "no village.updated event received": "Data desa belum diterima layanan surat.",
    "Already used for a different request.": "Sudah dipakai untuk permintaan lain.",
    "This Idempotency-Key was already used for a different request.":
        "Kunci permintaan ini sudah dipakai untuk permintaan lain.",
    # finance
    "A budget for this year exists.": "Anggaran untuk tahun ini sudah ada.",
    "The village already has a budget for {}": "Desa ini sudah mempunyai anggaran tahun {0}.",
    "A budget without lines cannot be approved.": "Anggaran tanpa rincian tidak dapat disetujui.",
    "Cannot {} a budget that is {}.": "Tidak dapat {0} anggaran yang berstatus {1}.",
    "The budget is {}: lines change only in a draft or an open amendment.":
        "Anggaran berstatus {0}: rincian hanya berubah pada draf atau perubahan yang terbuka.",
    "The budget is {}: money moves only once it is approved.":
        "Anggaran berstatus {0}: uang baru bergerak setelah anggaran disetujui.",
    "Only a draft budget is imported; change an approved budget through its amendment.":
        "Hanya draf anggaran yang dapat diimpor; ubah anggaran yang disetujui lewat APBDes "
        "Perubahan.",
    "This budget already has its amendment (APBDes Perubahan).":
        "Anggaran ini sudah mempunyai APBDes Perubahan.",
    "Budget on a level 3 or 4 account (e.g. 5.2.1).":
        "Anggarkan pada rekening tingkat 3 atau 4 (mis. 5.2.1).",
    "Only spending (5.*) lines have an activity.": "Hanya rincian belanja (5.*) yang mempunyai "
                                                   "kegiatan.",
    "Spending lines need an activity (BB.SS.KK).": "Rincian belanja memerlukan kegiatan "
                                                   "(BB.SS.KK).",
    "PFK accounts hold withheld tax; they are not budgeted.":
        "Rekening PFK menampung pajak yang dipungut; tidak dianggarkan.",
    "Unknown account.": "Rekening tidak dikenal.",
    "Unknown activity (kegiatan BB.SS.KK).": "Kegiatan (BB.SS.KK) tidak dikenal.",
    "Unknown funding source.": "Sumber dana tidak dikenal.",
    "Unknown budget line.": "Rincian anggaran tidak dikenal.",
    "No such budget line in this village": "Rincian anggaran ini tidak ada di desa ini.",
    "The line already has {} paid or approved; it cannot be less than that.":
        "Rincian ini sudah {0} dibayar atau disetujui; tidak boleh kurang dari itu.",
    "The line already has {} paid or approved; it cannot be removed.":
        "Rincian ini sudah {0} dibayar atau disetujui; tidak dapat dihapus.",
    "The line already has {} paid or approved; its {} cannot change.":
        "Rincian ini sudah {0} dibayar atau disetujui; {1}-nya tidak dapat berubah.",
    "{} payment request(s) name this line; it cannot be removed.":
        "{0} SPP memakai rincian ini; tidak dapat dihapus.",
    "Amounts are whole rupiah (an integer).": "Jumlah ditulis dalam rupiah bulat.",
    "Amounts must be positive.": "Jumlah harus lebih dari nol.",
    "Amounts are at most {}.": "Jumlah paling besar {0}.",
    "At most {} (left on line {}).": "Paling besar {0} (sisa pada rincian {1}).",
    "Line {} has {} left; the request is for {}.":
        "Rincian {0} bersisa {1}; permintaan sebesar {2}.",
    "An entry is a receipt or a payment.": "Catatan adalah penerimaan atau pengeluaran.",
    "Receipts go to an income (4.*) or financing receipt (6.1.*) line.":
        "Penerimaan dicatat pada rincian pendapatan (4.*) atau penerimaan pembiayaan (6.1.*).",
    "Payment requests are paid from a spending (5.*) or financing expenditure (6.2.*) line.":
        "SPP dibayar dari rincian belanja (5.*) atau pengeluaran pembiayaan (6.2.*).",
    "Cannot {} a payment request that is {}.": "Tidak dapat {0} SPP yang berstatus {1}.",
    "The payment request is {}; no more evidence": "SPP berstatus {0}; bukti tidak dapat "
                                                   "ditambah lagi.",
    "Invalid evidence key": "Bukti tidak sah.",
    "Not this request's.": "Bukan bukti SPP ini.",
    "Taxes withheld ({}) must be less than the amount ({}).":
        "Pajak yang dipungut ({0}) harus kurang dari jumlahnya ({1}).",
    "Unknown tax.": "Pajak tidak dikenal.",
    "Unknown tax {}.": "Pajak {0} tidak dikenal.",
    "Unknown tax or no rate in force: {}.": "Pajak tidak dikenal atau tidak ada tarif yang "
                                            "berlaku: {0}.",
    "No {} rate in force on {}.": "Tidak ada tarif {0} yang berlaku pada {1}.",
    "Only {} of {} is withheld and not yet deposited; the deposit is {}.":
        "Hanya {0} dari {1} yang dipungut dan belum disetor; setorannya {2}.",
    "Only advances ({}) are settled.": "Hanya uang muka ({0}) yang dipertanggungjawabkan.",
    "The advance was {}; it cannot be settled for {} (file a new request for the difference).":
        "Uang mukanya {0}; tidak dapat dipertanggungjawabkan sebesar {1} (ajukan SPP baru "
        "untuk selisihnya).",
    "A reversal is not reversed again; post the entry anew.":
        "Pembatalan tidak dibatalkan lagi; catat ulang transaksinya.",
    "Entry {} is already reversed.": "Catatan {0} sudah dibatalkan.",
    "A book covers one budget year.": "Satu buku untuk satu tahun anggaran.",
    "A month is written YYYY-MM (years 2000 to 2100).": "Bulan ditulis TTTT-BB (tahun 2000 "
                                                        "sampai 2100).",
    "The date is in the future.": "Tanggalnya di masa depan.",
    "The date must be in the budget year {}.": "Tanggal harus dalam tahun anggaran {0}.",
    "Unknown book {}.": "Buku {0} tidak dikenal.",
    "Group by one of: {}.": "Kelompokkan menurut salah satu: {0}.",
    "Close {}-{} first.": "Tutup dulu {0}-{1}.",
    "{}-{} has not ended yet.": "{0}-{1} belum berakhir.",
    "{}-{} is already closed.": "{0}-{1} sudah ditutup.",
    "{}-{} is closed; it takes no more postings.": "{0}-{1} sudah ditutup; tidak menerima "
                                                   "catatan lagi.",
    "Not a valid id.": "Kode tidak sah.",
    "Not a valid id: {}": "Kode tidak sah: {0}",
    # potential
    "Give latitude and longitude together.": "Isi lintang dan bujur bersama-sama.",
    "The latitude is outside Indonesia.": "Lintang di luar Indonesia.",
    "The longitude is outside Indonesia.": "Bujur di luar Indonesia.",
    "A {} is counted in {}.": "{0} dihitung dalam {1}.",
    "The owner is not a known resident of this village.":
        "Pemilik bukan penduduk desa ini yang dikenal.",
    "The owner is not a living resident ({}).": "Pemilik bukan penduduk yang masih hidup ({0}).",
    "The owner is not a resident of this village.": "Pemilik bukan penduduk desa ini.",
    # the platform
    "{} was changed by someone else after you read it; read it again and repeat your change":
        "Data ini sudah diubah orang lain setelah Anda membukanya. Isian Anda masih ada di "
        "bawah: buka ulang halaman ini untuk melihat versi terbaru, atau simpan lagi untuk "
        "menimpanya.",
    "If-Match must be the ETag of the entry as read": "Versi data tidak dikenal; buka ulang "
                                                       "halaman ini.",
    "Not a version of this entry.": "Bukan versi data ini.",
    "The caller stopped waiting before the work was done; nothing was changed.":
        "Waktu tunggu habis sebelum pekerjaan selesai; tidak ada yang diubah.",
    "The database connection was lost; try again.": "Hubungan ke basis data terputus; coba lagi.",
}

# Status and action words that the services put into their messages.
WORDS: dict[str, str] = {
    "draft": "draf", "approved": "disetujui", "amended": "diubah", "submitted": "diajukan",
    "checked": "diperiksa", "signed": "ditandatangani", "issued": "terbit",
    "rejected": "ditolak", "cancelled": "dibatalkan", "verified": "diverifikasi",
    "paid": "dibayar", "settled": "dipertanggungjawabkan", "closed": "ditutup",
    "dead": "meninggal", "moved_out": "pindah keluar", "missing": "hilang", "active": "aktif",
    "check": "memeriksa", "sign": "menandatangani", "reject": "menolak", "cancel": "membatalkan",
    "approve": "menyetujui", "submit": "mengajukan", "verify": "memverifikasi", "pay": "membayar",
    "amend": "mengubah", "settle": "mempertanggungjawabkan", "issue": "menerbitkan",
}

_VALUE = re.compile(r"\{(\d)\}")


@lru_cache(maxsize=1)
def _compiled() -> list[tuple[re.Pattern, str]]:
    """Placeholder keys as patterns; longest keys first so the most specific one wins."""
    patterns = []
    for english, indonesian in TRANSLATIONS.items():
        if "{}" in english:
            regex = "(.+?)".join(re.escape(part) for part in english.split("{}"))
            patterns.append((re.compile(regex + r"\Z", re.S), indonesian))
    patterns.sort(key=lambda pair: -len(pair[0].pattern))
    return patterns


def _word(value: str) -> str:
    return WORDS.get(value, value)


def indonesian(message) -> str:
    """The Indonesian form of a service's message; the message itself when none is known."""
    if not isinstance(message, str):
        return message
    exact = TRANSLATIONS.get(message)
    if exact is not None and "{}" not in message:
        return exact
    for pattern, indonesian_text in _compiled():
        found = pattern.match(message)
        if found:
            return _fill(indonesian_text, found.groups())
    return message


def _fill(text: str, values: tuple[str, ...]) -> str:
    return _VALUE.sub(lambda index: _word(values[int(index.group(1))]), text)
