// Every user of the core speaks the policy language too.
@_exported import FairsharePolicy
