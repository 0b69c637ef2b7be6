"""企业微信 (WeCom), messenger-specific: posting to a group through its group robot."""
