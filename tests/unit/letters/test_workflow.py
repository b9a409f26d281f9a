"""Who may move a letter where, and who may ask for one."""
import pytest

from services.letters import domain


def test_happy_path():
    status = "submitted"
    status = domain.decide_step("check", status, "officer")
    assert status == "checked"
    status = domain.decide_step("sign", status, "head")
    assert status == "signed"
    status = domain.decide_step("issue", status, "system")
    assert status == "issued"
    assert domain.decide_step("download", status, "resident") == "downloaded"


@pytest.mark.parametrize("role", ["officer", "resident", "regency_admin", "operator", None])
def test_only_the_head_signs(role):
    with pytest.raises(domain.StepNotAllowed):
        domain.decide_step("sign", "checked", role)


def test_cannot_sign_unchecked_or_twice():
    with pytest.raises(domain.LetterNotInState):
        domain.decide_step("sign", "submitted", "head")
    with pytest.raises(domain.LetterNotInState):
        domain.decide_step("sign", "signed", "head")


@pytest.mark.parametrize("status", ["signed", "issued", "downloaded", "rejected", "cancelled"])
def test_end_and_late_states_cannot_be_rejected_or_cancelled(status):
    with pytest.raises(domain.LetterNotInState):
        domain.decide_step("reject", status, "officer", "alasan")
    with pytest.raises(domain.LetterNotInState):
        domain.decide_step("cancel", status, "resident", "alasan")


def test_reject_and_cancel_need_a_reason():
    with pytest.raises(domain.ReasonRequired):
        domain.decide_step("reject", "submitted", "officer", "  ")
    assert domain.decide_step("cancel", "checked", "resident", "tidak jadi") == "cancelled"


def test_residents_cannot_check():
    with pytest.raises(domain.StepNotAllowed):
        domain.decide_step("check", "submitted", "resident")


def test_dead_or_moved_out_residents_get_no_letters():
    for status, words in (("dead", "dead"), ("moved_out", "moved out")):
        with pytest.raises(domain.SubjectMayNotReceive) as err:
            domain.check_subject_may_receive(status, subject_must_be_dead=False)
        assert words in err.value.message
    domain.check_subject_may_receive("alive", subject_must_be_dead=False)


def test_death_letter_only_for_the_dead():
    domain.check_subject_may_receive("dead", subject_must_be_dead=True)
    with pytest.raises(domain.SubjectMayNotReceive):
        domain.check_subject_may_receive("alive", subject_must_be_dead=True)


def test_requesters():
    domain.check_requester("resident", "3604054101909001", "3604054101909001", True)
    domain.check_requester("officer", None, "3604054101909001", False)
    with pytest.raises(domain.StepNotAllowed):
        domain.check_requester("resident", "3604054101909001", "3604051201909002", True)
    with pytest.raises(domain.StepNotAllowed):
        domain.check_requester("resident", "3604054101909001", "3604054101909001", False)
    with pytest.raises(domain.StepNotAllowed):
        domain.check_requester("operator", None, "3604054101909001", True)
