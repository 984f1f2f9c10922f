"""The audit trail of acts on people rather than on orders: who saw a resident's contact details,
who granted a role, who verified a household. Written in the transaction of the act itself."""
