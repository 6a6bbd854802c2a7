"""What the model records each week (and each month, by state) for the reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..vocabulary import (ALL, CATEGORIES, CHANNELS, DIMENSION_VALUES, FIRM_OF_CHANNEL, FIRM_SCALARS, FIRMS,
                          LEDGER_LINES, LOCALES, MEMBERSHIPS, METRICS, N_CATEGORIES, N_CHANNELS, N_LOCALES,
                          ONLINE_CHANNELS, REACH, SEGMENTS)
from .metrics import Recorder, shares, with_totals
from .tally import code_bits, count_codes, flag_code

if TYPE_CHECKING:
    from .market import RetailMarket

__all__ = ["DIMENSION_VALUES", "METRICS", "Collector"]  # the registry's names, for older imports
PLACES = (*LOCALES, ALL)
CATEGORY_LABELS = (*CATEGORIES, ALL)
MEMBERSHIP_BITS = len(MEMBERSHIPS)  # the low bits of a household's flag code: its segment index
FLAG_BITS = MEMBERSHIP_BITS + len(REACH)  # then each reach flag
# Rows of the weekly code counts: the segments, then each membership, then each reach flag.
FIRST_MEMBERSHIP_ROW, FIRST_REACH_ROW = len(SEGMENTS), len(SEGMENTS) + MEMBERSHIP_BITS
# The reach flags the market itself sets (the firms declare theirs).
MARKET_REACH = {"broadband_access": "digital", "ai_agent_share": "agent"}


def registered_reach_flags(firms) -> list[str]:
    """The reach flag each reach metric counts, in the registry's order (``vocabulary.REACH``): the
    firms declare their own metrics; a metric no firm declares, or one the registry lacks, is a bug."""
    declared = {**MARKET_REACH, **{metric: flag for firm in firms for metric, flag in firm.reach_metrics.items()}}
    if set(declared) != set(REACH):
        raise ValueError(f"reach metrics declared {sorted(declared)} differ from the registry {sorted(REACH)}")
    scalars = {name for firm in firms for name in firm.scalars()}
    if scalars != set(FIRM_SCALARS):
        raise ValueError(f"firms' scalar metrics {sorted(scalars)} differ from the registry {sorted(FIRM_SCALARS)}")
    return [declared[metric] for metric in REACH]


class Collector:
    """Declares every metric's layout once and records the week's aggregates."""

    def __init__(self, model: RetailMarket) -> None:
        self.model = model
        self.recorder = r = Recorder()
        # Only states with at least one simulated household: a small run has none in Alaska, say.
        self.states_present = np.unique(model.households.state)
        counts = model.locale_one_hot.sum(axis=0)
        self.households_by_locale = np.maximum(np.append(counts, counts.sum()), 1.0)
        states = [model.geography.state_codes[index] for index in self.states_present]
        # Rows of the weekly counts, over the codes of (memberships..., reach flags...): the
        # segments (the membership bits), then each flag.
        codes = np.arange(1 << FLAG_BITS)
        segments = codes & (len(SEGMENTS) - 1)
        self.code_rows = np.vstack([segments == s for s in range(len(SEGMENTS))] + [code_bits(FLAG_BITS)]).astype(float)
        self.n_states = len(model.geography.states)
        self.price_channels = [firm.channels[0] for firm in model.firms]  # a firm's price index is its first channel's
        self.reach_flags = registered_reach_flags(model.firms)
        self.spend_share = r.layout("spend_share", locale=PLACES, category=CATEGORY_LABELS, firm=FIRMS)
        self.channel_share = r.layout("channel_share", locale=PLACES, category=CATEGORY_LABELS, segment=CHANNELS)
        self.online_share = r.layout("online_share", locale=PLACES, category=CATEGORY_LABELS)
        self.online_spend = r.layout("online_spend", locale=PLACES, category=CATEGORY_LABELS)
        self.membership = r.layout("membership_share", locale=PLACES, segment=SEGMENTS)
        self.member_share = {name: r.layout(f"{name}_share", locale=PLACES) for name in MEMBERSHIPS}
        self.reach = {metric: r.layout(metric, locale=PLACES) for metric in REACH}
        self.price = r.layout("price_index", firm=FIRMS, category=CATEGORIES)
        self.ledger = {line: r.layout(line, firm=FIRMS) for line in LEDGER_LINES}
        self.gmv = r.layout("gmv", key="by_category", firm=FIRMS, category=CATEGORIES)
        self.surplus = r.layout("consumer_surplus", locale=PLACES)
        self.member_firms = [firm for firm in model.firms if firm.membership]
        self.firm_channel = {firm.name: np.isin(np.arange(N_CHANNELS), firm.channels) for firm in self.member_firms}
        self.member_spend = r.layout("member_spend_ratio", firm=[firm.name for firm in self.member_firms])
        self.member_online = r.layout("member_online_share", firm=[firm.name for firm in self.member_firms])
        self.online_channel = {firm.name: np.isin(np.arange(N_CHANNELS), np.intersect1d(firm.channels, ONLINE_CHANNELS))
                               for firm in self.member_firms}
        self.scalars = {name: r.layout(name, firm=firm) for name, firm in FIRM_SCALARS.items()}
        self.churn = {name: r.layout("established_churn", key=name, segment=name) for name in MEMBERSHIPS}
        self.state_membership = r.layout("membership_share", key="state", locale=states, segment=SEGMENTS)
        self.state_spend = r.layout("spend_share", key="state", locale=states, category=CATEGORY_LABELS, firm=FIRMS)
        self.price_level = r.layout("price_level")

    def weekly(self, month_starts: bool) -> None:
        m, h, date, record = self.model, self.model.households, self.model.date, self.recorder.record
        # (locale, category, channel) spend, then totals over locales and categories; the total over
        # categories weighs each at its national size (a category's own shares are unchanged by it).
        spend = m.to_sales(m.tally.spend.swapaxes(1, 2)).swapaxes(1, 2)  # at national size, as the firms book it
        by_channel = with_totals(spend, (0, 1))
        by_firm = np.stack([by_channel[..., FIRM_OF_CHANNEL == f].sum(axis=-1) for f in range(len(FIRMS))], axis=-1)
        record(self.spend_share, date, shares(by_firm))
        record(self.channel_share, date, shares(by_channel))
        online = np.zeros((N_CATEGORIES, N_CHANNELS))  # the share of spend ordered online, as each firm books it
        for firm in m.firms:
            for channel, share in firm.online_fraction().items():
                online[:, channel] = share
        online_spend, total = with_totals((spend * online[None]).sum(axis=-1), (0, 1)), by_channel.sum(axis=-1)
        record(self.online_share, date, np.divide(online_spend, total, out=np.zeros_like(total), where=total > 0))
        record(self.online_spend, date, online_spend)

        flags = m.access.flags()
        code = flag_code([getattr(h, name) for name in MEMBERSHIPS] + [flags[flag] for flag in self.reach_flags])
        segment = code & (len(SEGMENTS) - 1)  # the membership bits: the index into SEGMENTS
        counts = with_totals(self.code_rows @ count_codes(code, h.locale, N_LOCALES, FLAG_BITS).T, (1,))
        share = counts / self.households_by_locale
        record(self.membership, date, share[:FIRST_MEMBERSHIP_ROW].T)
        for row, name in enumerate(MEMBERSHIPS, start=FIRST_MEMBERSHIP_ROW):
            record(self.member_share[name], date, share[row])
        for row, metric in enumerate(REACH, start=FIRST_REACH_ROW):
            record(self.reach[metric], date, share[row])

        record(self.price, date, m.offer.price[self.price_channels])
        for line, handle in self.ledger.items():
            record(handle, date, [firm.ledger[line] for firm in m.firms])
        record(self.gmv, date, np.stack([firm.gmv_by_category for firm in m.firms]))
        surplus = m.surplus @ m.locale_one_hot
        record(self.surplus, date, np.append(surplus, surplus.sum()) / self.households_by_locale)
        ratios, online_shares = self.member_measures()
        record(self.member_spend, date, ratios)
        record(self.member_online, date, online_shares)
        record(self.price_level, date, m.price_level)
        scalars = {name: value for firm in m.firms for name, value in firm.scalars().items()}
        for name, handle in self.scalars.items():  # in the registry's order
            record(handle, date, scalars[name])
        if month_starts:
            for name, handle in self.churn.items():
                if not np.isnan(m.churn[name]):  # undefined until a membership has members past year one
                    record(handle, date, m.churn[name])
            self.monthly_by_state(segment)

    def member_measures(self) -> tuple[list[float], list[float]]:
        """Each membership firm's member spend ratio (a member's spend at the firm over a non-member's,
        per household: CIRP's measure for Prime) and its members' share of its online spend (what
        Walmart told CNBC of Walmart+, FY2025), NaN where undefined.

        One ``bincount`` of the week's spend by (channel chosen, memberships held) serves every firm
        and both measures."""
        m = self.model
        held = [getattr(m.households, firm.membership) for firm in self.member_firms]
        statuses = 1 << len(held)  # the memberships' bits, in the order of ``member_firms``
        cells = (m.choice.astype(np.intp) * statuses + flag_code(held)).ravel()
        dollars = np.bincount(cells, weights=m.spend.ravel(), minlength=N_CHANNELS * statuses)
        dollars = dollars.reshape(N_CHANNELS, statuses)
        ratios, online_shares = [], []
        for bit, (firm, member) in enumerate(zip(self.member_firms, held)):
            is_member = (np.arange(statuses) >> bit & 1).astype(bool)
            at_firm, online = dollars[self.firm_channel[firm.name]], dollars[self.online_channel[firm.name]]
            members = int(member.sum())
            others = member.size - members
            outside = at_firm[:, ~is_member].sum() / others if others else 0.0
            ratios.append(float(at_firm[:, is_member].sum() / members / outside) if members and outside > 0
                          else float("nan"))
            total = online.sum()
            online_shares.append(float(online[:, is_member].sum() / total) if total > 0 else float("nan"))
        return ratios, online_shares

    def monthly_by_state(self, segment: np.ndarray) -> None:
        """Membership and spend shares by state, in the first week of each month (for maps)."""
        m, h = self.model, self.model.households
        n_states = self.n_states
        present = self.states_present
        k = len(SEGMENTS)
        counts = np.bincount(h.state * k + segment, minlength=n_states * k).reshape(n_states, k)[present]
        self.recorder.record(self.state_membership, m.date, shares(counts.astype(float)))
        c, f = N_CATEGORIES, len(FIRMS)
        cells = ((h.state[None, :] * c + np.arange(c)[:, None]) * f + FIRM_OF_CHANNEL[m.choice]).ravel()
        spend = np.bincount(cells, weights=m.spend.ravel(), minlength=n_states * c * f).reshape(n_states, c, f)
        spend *= m.national_scale[None, :, None]  # categories at national size, as in weekly()
        self.recorder.record(self.state_spend, m.date, shares(with_totals(spend[present], (1,))))
