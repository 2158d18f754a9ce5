from training.ablate import ROWS, main


def test_smoke_produces_a_well_formed_table(tmp_path, capsys):
    out = tmp_path / "abl"
    rows = ["baseline L2", "+SALM a=10", "+KL both g=9", "+RIE stride 16", "all"]
    assert main(["--smoke", "--study", str(out), "--seeds", "2", "--rows", *rows]) == 0
    table = (out / "ablation.md").read_text().strip().splitlines()
    assert table[0].startswith("| row | seeds | AP |") and len(table) == 2 + len(rows)
    for line in table[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == 7
        float(cells[2].split(" ")[0])
    assert "| 2 |" in table[2]                  # key rows run two seeds, with a spread
    # resumable: a second call reruns nothing (it reads the stored rows)
    stored = sorted(p.stat().st_mtime for p in (out / "rows").glob("*.json"))
    assert main(["--smoke", "--study", str(out), "--seeds", "2", "--rows", *rows]) == 0
    assert sorted(p.stat().st_mtime for p in (out / "rows").glob("*.json")) == stored


def test_rows_cover_the_issue():
    names = [r[0] for r in ROWS]
    for needed in ("baseline L2", "+SALM a=1", "+SALM a=100", "+PDD linear", "+PDD quadratic-a", "+PDD quadratic-b",
                   "+KL p2h g=0", "+KL p2h g=99", "+KL h2p g=9", "+KL both g=9", "+RIE stride 8", "+RIE stride 16", "all"):
        assert any(n == needed or n.startswith(needed + ",") for n in names), needed


def test_pdd_sets_are_compared_where_they_differ():
    from ssapose.losses import stage_betas
    from training.ablate import ROWS

    sets = [(o["pdd"], 1 + o.get("refinements", 1)) for _, o, _, _ in ROWS if o.get("pdd") in ("linear", "quadratic-a")]
    assert sets and len({tuple(stage_betas(name, n)) for name, n in sets}) == len(sets)
