// IPv4 arithmetic lives in the policy pack, which `pulumi policy publish` ships alone (it may import
// nothing outside policy/); the program's validation uses the same functions from there.
export * from "../policy/ipv4";
