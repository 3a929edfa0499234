// The reference service lands here (see the API issue); bring-up already writes its DSN to `.env`.
export {};
