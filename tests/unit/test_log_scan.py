"""The e2e run's check for whole NIK/KK numbers in the platform's logs finds them, and only them."""
from tests.support.personal_data import personal_numbers_in_logs


def test_whole_numbers_are_found_and_masked_or_embedded_ones_are_not(tmp_path):
    (tmp_path / "registry.log").write_text(
        '{"message": "registered", "nik": "3604********0001"}\n'
        '{"request_id": "a1b2c3d43604051201900001ffee", "error": "Key (nik)=(36040512019)"}\n'
        '{"message": "refused", "error": "Key (nik)=(3604051201900001) exists"}\n')
    (tmp_path / "gateway.log").write_text('{"family": "3604050101150001"}\n')
    found = personal_numbers_in_logs(tmp_path)
    assert [line.split(":")[0:2] for line in found] == [["gateway.log", "1"],
                                                       ["registry.log", "3"]]
