// See dmarc_discovery.hh for the contract and the decisions.
#include "auth/dmarc_discovery.hh"

namespace mailwarden::auth {

namespace {

// The name without its left-most label; "" for a single label.
std::string_view parent_of(std::string_view domain) {
    const std::size_t dot = domain.find('.');
    return dot == std::string_view::npos ? std::string_view() : domain.substr(dot + 1);
}

// The right-most `labels` labels of domain (all of it when it has fewer).
std::string_view last_labels(std::string_view domain, std::size_t labels) {
    std::size_t end = domain.size();
    for (std::size_t seen = 1; end > 0; ++seen) {
        const std::size_t dot = domain.rfind('.', end - 1);
        if (dot == std::string_view::npos)
            return domain;
        if (seen == labels)
            return domain.substr(dot + 1);
        end = dot;
    }
    return domain;
}

DmarcLookup lookup_of(const dns::Answer& answer) {
    DmarcLookup lookup;
    switch (answer.status) {
    case dns::Status::ok:
        break;
    case dns::Status::nxdomain:
    case dns::Status::nodata:
        return lookup;
    case dns::Status::timeout:
        lookup.status = DmarcLookup::Status::dns_error;
        lookup.error = "dns timeout";
        return lookup;
    default:
        lookup.status = DmarcLookup::Status::dns_error;
        lookup.error = "dns error";
        return lookup;
    }
    for (const dns::Record& record : answer.records) {
        if (!is_dmarc_record(record.text))
            continue;
        if (lookup.status == DmarcLookup::Status::record)
            return {DmarcLookup::Status::several, "", std::nullopt, ""};
        lookup.status = DmarcLookup::Status::record;
        lookup.text = record.text;
    }
    if (lookup.status == DmarcLookup::Status::record)
        lookup.record = parse_dmarc_record(lookup.text);
    return lookup;
}

} // namespace

std::size_t label_count(std::string_view domain) {
    if (domain.empty())
        return 0;
    std::size_t labels = 1;
    for (const char c : domain)
        labels += c == '.' ? 1 : 0;
    return labels;
}

const DmarcLookup& DmarcLookups::at(const std::string& domain) {
    if (const auto found = cache_.find(domain); found != cache_.end())
        return found->second;
    ++queries_;
    const dns::Answer answer = resolver_->query("_dmarc." + domain, dns::RrType::txt);
    return cache_.emplace(domain, lookup_of(answer)).first->second;
}

std::optional<bool> DmarcLookups::domain_exists(const std::string& domain) {
    if (const auto found = existence_.find(domain); found != existence_.end())
        return found->second;
    ++queries_;
    const dns::Answer answer = resolver_->query(domain, dns::RrType::a);
    std::optional<bool> exists;
    if (answer.status == dns::Status::nxdomain)
        exists = false;
    else if (answer.status == dns::Status::ok || answer.status == dns::Status::nodata)
        exists = true;
    existence_.emplace(domain, exists);
    return exists;
}

std::vector<std::string> tree_walk_targets(std::string_view domain) {
    std::vector<std::string> targets;
    if (domain.empty())
        return targets;
    targets.emplace_back(domain);
    std::string_view next = label_count(domain) > max_tree_walk_labels
                                ? last_labels(domain, max_tree_walk_labels)
                                : parent_of(domain);
    for (; !next.empty() && targets.size() < max_tree_walk_queries; next = parent_of(next))
        targets.emplace_back(next);
    return targets;
}

TreeWalk tree_walk(DmarcLookups& lookups, const std::string& domain) {
    TreeWalk walk;
    for (const std::string& target : tree_walk_targets(domain)) {
        const DmarcLookup& lookup = lookups.at(target);
        if (lookup.status == DmarcLookup::Status::dns_error) {
            walk.dns_error = true;
            walk.error = lookup.error;
            walk.failed_name = target;
            return walk;
        }
        if (lookup.status == DmarcLookup::Status::several)
            walk.notes.push_back("several records at _dmarc." + target);
        if (lookup.status != DmarcLookup::Status::record)
            continue;
        walk.records.push_back({target, &lookup});
        if (lookup.record && lookup.record->psd != DmarcPsd::unspecified)
            break;
    }
    return walk;
}

std::string organizational_domain(const TreeWalk& walk, std::string_view start) {
    for (const WalkRecord& found : walk.records) {
        const DmarcPsd psd = found.lookup->record->psd;
        if (psd == DmarcPsd::no)
            return found.domain;
        if (psd == DmarcPsd::yes && found.domain != start) {
            // The name one label below the PSD on the way to the start name.
            const std::size_t labels = label_count(found.domain) + 1;
            return std::string(last_labels(start, labels));
        }
    }
    if (walk.records.empty())
        return std::string(start);
    return walk.records.back().domain; // the fewest labels: found last
}

} // namespace mailwarden::auth
