//! Events from agents (tetrascope's or Tetragon's) over gRPC: one task per agent keeps a
//! GetEvents stream open, reconnecting with backoff, and everything merges into one stream.
//! The agents' policies are read and changed through the same connections.
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Result;
use tokio::{sync::mpsc, task::AbortHandle};

use crate::{
    agent::{
        address::Address,
        client::{Client, Dialer},
        convert::from_proto,
        proto,
    },
    event::{Event, EventBody, EventFilter, EventType},
    kube::policy_edit::ClusterPolicies,
};

const FIRST_RETRY: Duration = Duration::from_millis(500);
const LAST_RETRY: Duration = Duration::from_secs(8);
/// Events in flight from the streams to the consumer; a full queue holds the streams back and
/// the agents count what their queues then drop.
const QUEUE: usize = 8192;

/// The connection to one agent, as the status bar shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkState {
    Connecting,
    Connected,
    /// Retrying at `retry_at`.
    Down {
        reason: String,
        retry_at: Instant,
    },
    /// Its pod left the cluster (`--kube`): no longer followed.
    Left,
}

#[derive(Clone, Debug)]
pub struct AgentLink {
    pub address: Address,
    pub state: LinkState,
    /// The node name in its events (empty until the first one).
    pub node_name: String,
    pub events: u64,
    /// Events the agent dropped for this client (reported in `rate_limit_info` events).
    pub dropped: u64,
    /// Messages that were not events we know.
    pub undecodable: u64,
    pub reconnects: u64,
}

enum Update {
    Event(usize, Box<Event>),
    State(usize, LinkState),
    Undecodable(usize),
    Policies(usize, Vec<proto::TracingPolicyStatus>),
    /// The outcome of a policy call, for the status bar.
    Outcome(String),
    /// An agent to follow from now on, or no longer (agents discovered in a cluster).
    /// With the node it runs on, if known, until its events name their own.
    Join(Address, String),
    Leave(Address),
}

/// Tells a [`RemoteSource`] which agents to follow, as they come and go.
#[derive(Clone)]
pub struct Membership(mpsc::Sender<Update>);

impl Membership {
    /// Follows `address`, an agent on `node` ("" when unknown).
    pub async fn join(&self, address: Address, node: String) {
        let _ = self.0.send(Update::Join(address, node)).await;
    }

    pub async fn leave(&self, address: Address) {
        let _ = self.0.send(Update::Leave(address)).await;
    }

    /// A message for the status bar (e.g. why discovery failed).
    pub async fn say(&self, message: String) {
        let _ = self.0.send(Update::Outcome(message)).await;
    }
}

/// A change to one policy of one agent.
#[derive(Clone, Debug)]
pub enum PolicyCall {
    Configure {
        enable: Option<bool>,
        mode: Option<proto::TracingPolicyMode>,
    },
    Delete,
}

pub struct RemoteSource {
    /// Every agent followed so far, in order of arrival (indexes stay valid: an agent that
    /// leaves keeps its place, [`LinkState::Left`]).
    links: Vec<AgentLink>,
    /// The current client of each agent, for policy calls (None while disconnected).
    clients: Vec<Arc<Mutex<Option<Client>>>>,
    followers: Vec<AbortHandle>,
    updates: mpsc::Receiver<Update>,
    /// For the followers, the policy calls' tasks and discovery.
    sender: mpsc::Sender<Update>,
    dialer: Dialer,
    request: proto::GetEventsRequest,
    /// Each agent's policies as last listed.
    policies: Vec<Vec<proto::TracingPolicyStatus>>,
    outcomes: Vec<String>,
    /// The cluster whose TracingPolicy objects the agents load (the cluster view).
    cluster: Option<ClusterPolicies>,
}

impl Drop for RemoteSource {
    fn drop(&mut self) {
        for follower in &self.followers {
            follower.abort();
        }
    }
}

impl RemoteSource {
    /// Starts following every agent; connections happen in the background.
    pub fn start(addresses: &[Address], dialer: Dialer, request: proto::GetEventsRequest) -> Self {
        let (sender, updates) = mpsc::channel(QUEUE);
        let mut source = RemoteSource {
            links: Vec::new(),
            clients: Vec::new(),
            followers: Vec::new(),
            updates,
            sender,
            dialer,
            request,
            policies: Vec::new(),
            outcomes: Vec::new(),
            cluster: None,
        };
        for address in addresses {
            source.follow(address.clone(), String::new());
        }
        source
    }

    /// For discovery: agents to follow as they come and go.
    pub fn membership(&self) -> Membership {
        Membership(self.sender.clone())
    }

    /// The agents load the TracingPolicy objects of this cluster: the policy pane changes
    /// those objects rather than each agent.
    pub fn with_cluster_policies(mut self, cluster: ClusterPolicies) -> Self {
        self.cluster = Some(cluster);
        self
    }

    pub fn cluster_policies(&self) -> Option<&ClusterPolicies> {
        self.cluster.as_ref()
    }

    /// Follows a new agent (again, if it had left).
    fn follow(&mut self, address: Address, node: String) {
        let index = match self.links.iter().position(|l| l.address == address) {
            Some(index) if self.links[index].state == LinkState::Left => index,
            Some(_) => return,
            None => {
                self.links.push(AgentLink {
                    address: address.clone(),
                    state: LinkState::Connecting,
                    node_name: node,
                    events: 0,
                    dropped: 0,
                    undecodable: 0,
                    reconnects: 0,
                });
                self.clients.push(Arc::new(Mutex::new(None)));
                self.policies.push(Vec::new());
                self.links.len() - 1
            }
        };
        self.links[index].state = LinkState::Connecting;
        let follower = Follower {
            index,
            address,
            dialer: self.dialer.clone(),
            request: self.request.clone(),
            updates: self.sender.clone(),
            client: self.clients[index].clone(),
        };
        let handle = tokio::spawn(follower.run()).abort_handle();
        match self.followers.get_mut(index) {
            Some(slot) => *slot = handle,
            None => self.followers.push(handle),
        }
    }

    fn forget(&mut self, address: &Address) {
        if let Some(index) = self.links.iter().position(|l| &l.address == address) {
            self.followers[index].abort();
            self.links[index].state = LinkState::Left;
            self.policies[index].clear();
            *self.clients[index]
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = None;
        }
    }

    /// Waits for news from the agents and appends the events that came with it. Returns
    /// whether some link changed state.
    pub async fn next_batch(&mut self, out: &mut Vec<Event>) -> Result<bool> {
        let Some(first) = self.updates.recv().await else {
            anyhow::bail!("every agent link stopped");
        };
        let mut changed = self.apply(first, out);
        while out.len() < 1024 {
            match self.updates.try_recv() {
                Ok(update) => changed |= self.apply(update, out),
                Err(_) => break,
            }
        }
        Ok(changed)
    }

    fn apply(&mut self, update: Update, out: &mut Vec<Event>) -> bool {
        match update {
            Update::Event(index, event) => {
                let link = &mut self.links[index];
                link.events += 1;
                if link.node_name != event.node_name {
                    link.node_name.clone_from(&event.node_name);
                }
                if let EventBody::RateLimitInfo(info) = &event.body {
                    link.dropped += info.number_of_dropped_process_events;
                }
                out.push(*event);
                false
            }
            // A follower aborted while its update was queued does not revive its link.
            Update::State(index, _) if self.links[index].state == LinkState::Left => false,
            Update::State(index, state) => {
                let link = &mut self.links[index];
                if state == LinkState::Connected && link.events > 0 {
                    link.reconnects += 1;
                }
                link.state = state;
                true
            }
            Update::Undecodable(index) => {
                self.links[index].undecodable += 1;
                false
            }
            Update::Policies(index, policies) => {
                self.policies[index] = policies;
                true
            }
            Update::Outcome(message) => {
                self.outcomes.push(message);
                true
            }
            Update::Join(address, node) => {
                self.follow(address, node);
                true
            }
            Update::Leave(address) => {
                self.forget(&address);
                true
            }
        }
    }

    /// Each agent's policies, as last listed ([`Self::list_policies`]).
    pub fn policies(&self) -> &[Vec<proto::TracingPolicyStatus>] {
        &self.policies
    }

    /// The outcomes of policy calls since the last call.
    pub fn take_outcomes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.outcomes)
    }

    /// Lists the policies of every connected agent; the lists arrive with a later batch.
    pub fn list_policies(&self) {
        for index in 0..self.links.len() {
            let Some(mut client) = self.client(index) else {
                continue;
            };
            let sender = self.sender.clone();
            tokio::spawn(async move {
                let request = proto::ListTracingPoliciesRequest::default();
                let update = match client.list_tracing_policies(request).await {
                    Ok(response) => Update::Policies(index, response.into_inner().policies),
                    Err(status) => {
                        Update::Outcome(format!("listing policies: {}", status.message()))
                    }
                };
                let _ = sender.send(update).await;
            });
        }
    }

    /// Changes policy `name` of agent `index` (as listed: its namespace and domain go with it).
    pub fn call(&self, index: usize, name: &str, call: PolicyCall) {
        let label = self.label(index);
        let found = self
            .policies
            .get(index)
            .and_then(|p| p.iter().find(|s| s.name == name));
        let (Some(mut client), Some(policy)) = (self.client(index), found.cloned()) else {
            let _ = self.sender.try_send(Update::Outcome(format!(
                "{label}: {name} is not listed there (disconnected?)"
            )));
            return;
        };
        let sender = self.sender.clone();
        tokio::spawn(async move {
            let result = match call {
                PolicyCall::Configure { enable, mode } => client
                    .configure_tracing_policy(proto::ConfigureTracingPolicyRequest {
                        name: policy.name.clone(),
                        namespace: policy.namespace.clone(),
                        enable,
                        mode: mode.map(|m| m as i32),
                        domain: policy.domain.clone(),
                    })
                    .await
                    .map(drop),
                PolicyCall::Delete => client
                    .delete_tracing_policy(proto::DeleteTracingPolicyRequest {
                        name: policy.name.clone(),
                        namespace: policy.namespace.clone(),
                        domain: policy.domain.clone(),
                    })
                    .await
                    .map(drop),
            };
            let message = match result {
                Ok(()) => format!("{label}: {} changed", policy.name),
                Err(status) => format!("{label}: {}: {}", policy.name, status.message()),
            };
            let _ = sender.send(Update::Outcome(message)).await;
        });
    }

    /// Adds a policy (YAML text) to every connected agent.
    pub fn add_policy(&self, yaml: String) {
        for index in 0..self.links.len() {
            let label = self.label(index);
            let Some(mut client) = self.client(index) else {
                let _ = self
                    .sender
                    .try_send(Update::Outcome(format!("{label}: not connected")));
                continue;
            };
            let (sender, yaml) = (self.sender.clone(), yaml.clone());
            tokio::spawn(async move {
                let request = proto::AddTracingPolicyRequest {
                    yaml,
                    domain: String::new(),
                };
                let message = match client.add_tracing_policy(request).await {
                    Ok(_) => format!("{label}: added"),
                    Err(status) => format!("{label}: not added: {}", status.message()),
                };
                let _ = sender.send(Update::Outcome(message)).await;
            });
        }
    }

    /// The node name of agent `index` once known and its own, else its address.
    pub fn label(&self, index: usize) -> String {
        let link = &self.links[index];
        let shared = self
            .links
            .iter()
            .filter(|l| l.node_name == link.node_name && l.state != LinkState::Left)
            .count()
            > 1;
        if link.node_name.is_empty() || shared {
            link.address.to_string()
        } else {
            link.node_name.clone()
        }
    }

    pub fn links(&self) -> &[AgentLink] {
        &self.links
    }

    /// The client of agent `index` while it is connected.
    pub fn client(&self, index: usize) -> Option<Client> {
        self.clients[index]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The GetEvents request of the command-line filters: processed on the agents. Event types are
/// sent by number, tetrascope's own among them (agents that do not know them send none).
pub fn request_for(
    processes: &[String],
    pods: &[String],
    namespaces: &[String],
    types: &[EventType],
) -> Result<proto::GetEventsRequest> {
    // Compiled here first so that a bad pattern is refused before anything connects.
    EventFilter::new(processes, pods, namespaces, types)?;
    let event_set = types
        .iter()
        .map(|t| {
            proto::EventType::from_str_name(t.name())
                .map(|t| t as i32)
                .ok_or_else(|| anyhow::anyhow!("no wire number for {}", t.name()))
        })
        .collect::<Result<_>>()?;
    let filter = proto::Filter {
        binary_regex: processes.to_vec(),
        pod_regex: pods.to_vec(),
        namespace: namespaces.to_vec(),
        event_set,
        ..proto::Filter::default()
    };
    let constrained = filter != proto::Filter::default();
    Ok(proto::GetEventsRequest {
        allow_list: if constrained {
            vec![filter]
        } else {
            Vec::new()
        },
        ..proto::GetEventsRequest::default()
    })
}

struct Follower {
    index: usize,
    address: Address,
    dialer: Dialer,
    request: proto::GetEventsRequest,
    updates: mpsc::Sender<Update>,
    client: Arc<Mutex<Option<Client>>>,
}

impl Follower {
    async fn run(self) {
        let mut retry = FIRST_RETRY;
        loop {
            if self
                .updates
                .send(Update::State(self.index, LinkState::Connecting))
                .await
                .is_err()
            {
                return;
            }
            let (reason, was_up) = self.stream().await;
            self.set_client(None);
            if was_up {
                retry = FIRST_RETRY;
            }
            let down = LinkState::Down {
                reason,
                retry_at: Instant::now() + retry,
            };
            if self
                .updates
                .send(Update::State(self.index, down))
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(LAST_RETRY);
        }
    }

    /// Connects and forwards events until the stream ends; returns why it ended and whether
    /// it had been up.
    async fn stream(&self) -> (String, bool) {
        let mut client = match self.dialer.connect(&self.address).await {
            Ok(client) => client,
            // The root cause says it best ("Connection refused", "No such file…").
            Err(e) => return (e.root_cause().to_string(), false),
        };
        let mut stream = match client.get_events(self.request.clone()).await {
            Ok(response) => response.into_inner(),
            Err(status) => return (status.message().to_owned(), false),
        };
        self.set_client(Some(client));
        if self
            .updates
            .send(Update::State(self.index, LinkState::Connected))
            .await
            .is_err()
        {
            return (String::new(), true);
        }
        loop {
            let update = match stream.message().await {
                Ok(Some(message)) => match from_proto(&message) {
                    Ok(event) => Update::Event(self.index, Box::new(event)),
                    Err(_) => Update::Undecodable(self.index),
                },
                Ok(None) => return ("the agent ended the stream".into(), true),
                Err(status) => return (status.message().to_owned(), true),
            };
            if self.updates.send(update).await.is_err() {
                return (String::new(), true);
            }
        }
    }

    fn set_client(&self, client: Option<Client>) {
        *self.client.lock().unwrap_or_else(|e| e.into_inner()) = client;
    }
}
