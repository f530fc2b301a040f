from medusa_sync.core.missing import judge


def test_up_to_the_limit_is_allowed():
    decision = judge(acting=19, owned=194, max_missing_percent=10, action="delete")
    assert decision.allowed and decision.percent == 9.79


def test_over_the_limit_is_blocked_with_a_reason_naming_the_param():
    decision = judge(acting=30, owned=194, max_missing_percent=10, action="delete")
    assert not decision.allowed
    assert decision.reason == "delete 30 of 194 synced products (15.5 %) is over max_missing_percent=10"


def test_raising_the_param_lets_a_real_mass_removal_through():
    assert judge(acting=30, owned=194, max_missing_percent=50, action="draft").allowed


def test_nothing_owned_nothing_to_guard():
    assert judge(acting=0, owned=0, max_missing_percent=0, action="delete").allowed
