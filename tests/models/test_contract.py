"""Input contracts: a dataset card meets the weights' expected input, is adapted (logged), or is refused.

The cards follow the prepared store's format (fields with kind, shape, sampling_rate,
lead_names) with the values of the real PTB-XL, MIT-BIH, Bonn EEG and BreastMNIST cards.
"""

from __future__ import annotations

import logging

import pytest

from climb.models.contract import ContractError, InputContract, meet_contract
from climb.models.zoo import get_entry

TWELVE = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
PTBXL = {"name": "ptbxl", "fields": {"signal": {"kind": "signal", "sampling_rate": 100, "lead_names": TWELVE,
                                                "shape": [12, 1000]}}}
MITDB = {"name": "mitdb", "fields": {"signal": {"kind": "signal", "sampling_rate": 360, "lead_names": ["MLII"],
                                                "shape": [1, 360]}}}
BONN = {"name": "bonn_eeg", "fields": {"eeg": {"kind": "eeg", "sampling_rate": 173.61, "shape": [1, 4097]}}}
BREAST = {"name": "breastmnist", "fields": {"image": {"kind": "image", "shape": [1, 28, 28]}}}
ECG_12_500 = InputContract(kind="signal", sampling_rate=500, leads=tuple(TWELVE), window=5000)


def test_twelve_lead_encoder_refuses_one_lead_without_mapping() -> None:
    with pytest.raises(ContractError, match=r"mitdb.signal: has 1 lead.*I, III, AVR"):
        meet_contract(ECG_12_500, MITDB, allow_resample=True)


def test_sampling_rate_mismatch_is_an_error_unless_resampling_is_allowed(caplog) -> None:
    biot = get_entry("biot-prest-16chs").contract
    one_channel = InputContract(kind="eeg", sampling_rate=biot.sampling_rate, window=biot.window)
    with pytest.raises(ContractError, match="173.61 Hz, the weights expect 200 Hz; allow resampling"):
        meet_contract(one_channel, BONN)
    with caplog.at_level(logging.WARNING):
        adapted = meet_contract(one_channel, BONN, allow_resample=True)
    assert adapted.transform_options == {"sampling_rate": 200, "crop_seconds": 10.0}
    assert adapted.steps == ["resampled from 173.61 Hz to 200 Hz"]
    assert "resampled from 173.61 Hz" in caplog.text


def test_leads_are_selected_in_the_weights_order_and_renamed_by_a_lead_map() -> None:
    contract = InputContract(kind="signal", sampling_rate=100, leads=("II", "I", "V1"))
    adapted = meet_contract(contract, PTBXL)
    assert adapted.transform_options["leads"] == ["II", "I", "V1"]
    assert any("selected and ordered 3 of 12" in s for s in adapted.steps)
    mapped = meet_contract(InputContract(kind="signal", leads=("II",)), MITDB, lead_map={"II": "MLII"})
    assert mapped.transform_options["leads"] == ["MLII"] and "lead II taken from the dataset's MLII" in mapped.steps
    exact = meet_contract(InputContract(kind="signal", sampling_rate=100, leads=tuple(TWELVE), window=1000), PTBXL)
    assert exact.steps == [] and exact.transform_options["crop_seconds"] == 10.0


def test_gray_image_meets_a_three_channel_contract_by_an_explicit_repeat() -> None:
    rad_dino = get_entry("rad_dino").contract
    adapted = meet_contract(rad_dino, BREAST)
    assert adapted.transform_options["image_size"] == 518
    assert adapted.transform_options["stats"]["image"]["mean"] == pytest.approx([0.5307])
    assert any("1 channel repeated to 3" in s for s in adapted.steps)
    with pytest.raises(ContractError, match="1 channels, the weights expect 3"):
        meet_contract(rad_dino, BREAST, allow_channel_repeat=False)


def test_named_channel_encoders_need_channel_names() -> None:
    labram = get_entry("labram-base").contract
    with pytest.raises(ContractError, match="names none"):
        meet_contract(labram, BONN, allow_resample=True)
    named = {"name": "x", "fields": {"eeg": {"kind": "eeg", "sampling_rate": 200, "channel_names": ["Fp1", "Cz"],
                                             "shape": [2, 2000]}}}
    assert meet_contract(labram, named).encoder_kwargs == {"ch_names": ["Fp1", "Cz"]}


def test_wrong_kind_names_the_fields() -> None:
    with pytest.raises(ContractError, match="no image field.*signal"):
        meet_contract(get_entry("rad_dino").contract, PTBXL)
