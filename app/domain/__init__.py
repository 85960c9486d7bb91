"""Pure domain core: money, policy rules, the gate, the approval workflow and audit vocabulary."""
